"""Accounts, API keys and browser sign-in."""
