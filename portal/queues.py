"""The Redis connection RQ uses, made on first use from the app's REDIS_URL (never at import)."""
from flask import current_app
from redis import Redis


def redis_connection() -> Redis:
    app = current_app._get_current_object()
    connection = app.extensions.get("tablecloth_redis")
    if connection is None:
        connection = Redis.from_url(app.config["REDIS_URL"])
        app.extensions["tablecloth_redis"] = connection
    return connection
