"""Provenance use cases: marking outputs and verifying them (the mechanisms are in
`reelforge.provenance`)."""
