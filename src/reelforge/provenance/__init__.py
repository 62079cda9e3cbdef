"""Provenance marks on every output: visible label, AIGC metadata, watermark, C2PA."""
