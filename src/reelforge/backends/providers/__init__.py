"""Hosted video providers (Kling, Runway, Luma, MiniMax, Google Veo, OpenAI Sora) behind the
one backend seam: `ProviderBackend` runs the task lifecycle, one module per provider maps
requests and speaks its API (see base.Provider)."""
