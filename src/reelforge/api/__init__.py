"""HTTP API v1 (FastAPI). Routes translate HTTP to service calls and back; no logic here."""
