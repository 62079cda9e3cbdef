"""The job pipeline: submit, admission, execution, finalize, queries, reaper, result cache,
uploads, delivery, retention and the model registry."""
