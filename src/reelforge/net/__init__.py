"""Outgoing connections to addresses checked first: a callback URL or an image URL from a
request resolves to public addresses only (callbacks), and the connection goes to the
checked address, never to the name again (outbound). Used by the job pipeline (image URLs,
callback URLs at submit) and the outgoing webhooks (services.notify) alike."""
