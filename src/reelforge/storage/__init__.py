"""Persistence adapters: the relational database (truth) and the blob store."""
