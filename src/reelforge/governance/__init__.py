"""Governance: policy profiles, moderation of prompts, images and output frames, the likeness
consent registry, human review with appeals, and the audit log."""
