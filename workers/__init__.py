"""Background job entrypoints (RQ): thin functions in workers/<domain>.py that take ids and primitives and call
the core. They are queued through ``portal.jobs`` (queue names, job ids, uniqueness, retries); nothing under
``portal/`` imports this package."""
