"""Webhook signing and sending (the HTTP side); scheduling lives in services.notify.deliveries."""
