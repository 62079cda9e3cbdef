"""Prompt, negative-prompt and overlay moderation: normalisation, term lists, combination
patterns and a semantic classifier that produce ``Signal``s for the policy."""

from reelforge.governance.text.moderator import TextModerator

__all__ = ["TextModerator"]
