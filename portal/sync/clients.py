"""Building a ToastClient for a stored connection, with its token cached (encrypted) in the database.

The cache is shared by every web and worker process, so Toast's limit of 2 token requests per hour holds
across the whole deployment, not per process; the request pacing is shared likewise, through Redis.
"""
import json
from contextlib import contextmanager

from flask import current_app
from redis.exceptions import LockError
from sqlalchemy import select, update

from portal.crypto import decrypt, encrypt
from portal.extensions import db
from portal.models import ToastConnection
from portal.queues import redis_connection
from portal.toast.auth import AccessToken, MemoryTokenStore, TokenState
from portal.toast.client import ToastClient
from portal.toast.errors import RetryableAPIError
from portal.toast.shared_pacing import RedisPacer

LOCK_SECONDS = 60  # longer than a token request takes (30 s timeout)


class DatabaseTokenStore:
    """TokenStore keeping one connection's token state in toast_connections.token_enc.

    Writes go through their own short transaction: a token must survive even if the job that fetched it
    rolls back, and it must not commit the job's half-done work.
    """

    def __init__(self, connection_id: int):
        self.connection_id = connection_id

    def get(self, key: str) -> TokenState | None:
        with db.engine.connect() as conn:
            stored = conn.execute(
                select(ToastConnection.token_enc).where(ToastConnection.id == self.connection_id)
            ).scalar()
        if not stored:
            return None
        data = json.loads(decrypt(stored))
        return TokenState.from_dict(data["state"]) if data.get("key") == key else None

    @contextmanager
    def lock(self, key: str):
        """A Redis lock per connection: two workers finding the token expired request one token, not two (the
        second waits, then reads the first's). Expires on its own if its holder dies mid-request."""
        lock = redis_connection().lock(f"toast-token:{self.connection_id}", timeout=LOCK_SECONDS,
                                       blocking_timeout=LOCK_SECONDS)
        if not lock.acquire():
            raise RetryableAPIError("another process has been requesting this connection's Toast token too long")
        try:
            yield
        finally:
            try:
                lock.release()
            except LockError:
                pass  # it expired meanwhile: nothing left to release

    def set(self, key: str, state: TokenState) -> None:
        payload = seal(key, state)
        with db.engine.begin() as conn:
            conn.execute(
                update(ToastConnection).where(ToastConnection.id == self.connection_id).values(token_enc=payload)
            )


def seal(key: str, state: TokenState) -> str:
    return encrypt(json.dumps({"key": key, "state": state.to_dict()}))


class ConnectionNeedsReconnect(RuntimeError):
    """Toast refused the connection's credentials earlier; nothing is sent to Toast until an owner reconnects."""


def ensure_connected(connection: ToastConnection) -> None:
    """ConnectionNeedsReconnect when the connection is waiting for an owner to reconnect it."""
    if connection.needs_reconnect:
        raise ConnectionNeedsReconnect("the Toast connection needs to be reconnected by an owner")


def client_for(connection: ToastConnection) -> ToastClient:
    """A client for this connection's host and credentials (close it, or use it as a context manager).

    Callers must not hold a database write open while it talks to Toast: a token refresh is written
    through its own connection (on SQLite a pending write would block it).
    """
    return _client(connection.host, connection.client_id, decrypt(connection.client_secret_enc),
                   DatabaseTokenStore(connection.id))


def login(host: str, client_id: str, client_secret: str) -> tuple[AccessToken, str]:
    """Sign in with credentials not stored yet: the token and its sealed state for ``token_enc``.

    Raises the client's errors (AuthError when Toast refuses the credentials).
    """
    store = MemoryTokenStore()
    with _client(host, client_id, client_secret, store) as client:
        token = client.token_info()
        key = f"{client.host}|{client_id}"
    return token, seal(key, store.get(key))


def _client(host: str, client_id: str, client_secret: str, store) -> ToastClient:
    config = current_app.config
    # Paced in Redis: Toast's limits hold for the client across every web process and RQ work horse.
    pacer = RedisPacer(redis_connection(), f"{host.rstrip('/')}|{client_id}")
    return ToastClient(
        host, client_id, client_secret, token_store=store, pacer=pacer,
        max_retries=config.get("TOAST_MAX_RETRIES", 4), backoff_cap=config.get("TOAST_BACKOFF_CAP_S", 60.0),
    )
