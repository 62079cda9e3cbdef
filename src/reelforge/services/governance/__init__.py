"""Governance use cases: moderation decisions, the likeness registry, human review and the
audit log (the detectors themselves are in `reelforge.governance`)."""
