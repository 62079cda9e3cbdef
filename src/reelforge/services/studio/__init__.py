"""What the web studio needs beyond the API's use cases: the gallery's listing with a model
filter and the check of form images before any is stored (the submit, quote, cancel, events,
content, appeal and verify services are the API's own)."""
