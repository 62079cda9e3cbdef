"""An OpenAI-compatible videos surface at /openai/v1/videos: the official `openai` SDK, with
`base_url="http://HOST/openai/v1"` and a reelforge API key, creates, reads, lists, downloads
and deletes reelforge jobs (the native /v1/videos contract is unchanged)."""

from reelforge.api.openai_compat.routes import router

__all__ = ["router"]
