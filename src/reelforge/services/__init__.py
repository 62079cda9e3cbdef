"""Use cases. The only thing entry points (CLI, HTTP API, worker loop) call."""
