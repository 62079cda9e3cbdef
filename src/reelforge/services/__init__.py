"""Use cases, one package per context: jobs (the pipeline), governance, provenance, billing,
accounts, notify (outgoing) and ops (read models over all of them). Entry points (CLI, HTTP
API, web, worker loop, simulation) call them; they see only `app.platform` and `app.ports` of
the composition root."""
