"""Outgoing notifications: webhook deliveries, callback URL checks and SSRF-safe outbound HTTP."""
