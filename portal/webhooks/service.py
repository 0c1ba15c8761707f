"""Receiving Toast webhooks: verify, store, dedupe, hand over to a job. Must answer well within 2 seconds."""
import json
import logging
from contextlib import ExitStack
from dataclasses import dataclass

from redis.exceptions import RedisError
from sqlalchemy import and_, bindparam, select
from sqlalchemy.exc import SQLAlchemyError

from portal.crypto import decrypt
from portal.dbutil import insert_unless_exists
from portal.dialects import dialect_of
from portal.extensions import db
from portal.models.base import utcnow
from portal.models import Location, ToastConnection, WebhookEvent
from portal.models.sync import EVENT_PENDING
from portal.queues import redis_connection
from portal.toast.signature import verify

log = logging.getLogger("tablecloth.webhooks")

RECEIVED, DUPLICATE, IGNORED, REJECTED, UNAVAILABLE = "received", "duplicate", "ignored", "rejected", "unavailable"
GUID_FIELDS, GUID_MAX = ("guid", "restaurant_guid", "order_guid"), 64

# The connection a webhook token names, its webhook secret and the active location the event is about (if any).
# Built once: receipts come hundreds a second, and building a statement costs more than running it.
_CONNECTION_FOR_EVENT = (
    select(ToastConnection.id, ToastConnection.org_id, ToastConnection.webhook_secret_enc, Location.id)
    .outerjoin(Location, and_(Location.org_id == ToastConnection.org_id, Location.active.is_(True),
                              Location.guid == bindparam("restaurant_guid")))
    .where(ToastConnection.webhook_token == bindparam("token"))
)


@dataclass
class Receipt:
    outcome: str
    event_id: int | None = None
    org_id: int | None = None
    connection_id: int | None = None


def receive(token: str, body: bytes, signature: str | None, attempt: str | None) -> Receipt:
    """Store a signed event once. REJECTED for an unknown token, a bad signature or a malformed envelope;
    UNAVAILABLE when the database cannot store it (busy past its wait, or down): Toast sends it again later."""
    envelope = _envelope(body)
    if envelope is None:
        return Receipt(REJECTED)
    try:
        # A Core connection of its own, each statement its own transaction where that saves round trips: a
        # receipt is one lookup and one insert, hundreds of times a second beside the workers.
        with db.engine.connect() as connection:
            return _store(dialect_of(connection).statement_transactions(connection), token, body, signature,
                          attempt, envelope)
    except SQLAlchemyError as exc:
        log.warning("webhook not stored: database error %s", type(exc).__name__)
        return Receipt(UNAVAILABLE)


def _store(connection, token: str, body: bytes, signature: str | None, attempt: str | None,
           envelope: dict) -> Receipt:
    found = connection.execute(
        _CONNECTION_FOR_EVENT, {"token": token, "restaurant_guid": envelope["restaurant_guid"]}
    ).first()
    if found is None or not found[2] or not verify(decrypt(found[2]), body, envelope["timestamp"], signature):
        return Receipt(REJECTED)
    connection_id, org_id, _, location_id = found
    if location_id is None:
        return Receipt(IGNORED)
    event_id = insert_unless_exists(connection, WebhookEvent, {
        "org_id": org_id, "connection_id": connection_id, "event_guid": envelope["guid"],
        "event_type": envelope["event_type"], "restaurant_guid": envelope["restaurant_guid"],
        "order_guid": envelope["order_guid"], "attempt": _int(attempt), "body": body.decode("utf-8"),
        "status": EVENT_PENDING, "created_at": utcnow(),
    }, ["event_guid"])
    connection.commit()
    if event_id is None:  # Toast retries: the event GUID is already stored
        return Receipt(DUPLICATE)
    return Receipt(RECEIVED, event_id, org_id, connection_id)


def prepare_receipts(app, connections: int) -> None:
    """Open ``connections`` database connections for the pool and run the receipt's lookup once. Trouble is left
    for the first receipt to meet (it answers 503)."""
    with app.app_context():
        try:
            with ExitStack() as stack:
                opened = [stack.enter_context(db.engine.connect()) for _ in range(max(1, connections))]
                opened[0].execute(_CONNECTION_FOR_EVENT, {"token": "", "restaurant_guid": ""})
        except SQLAlchemyError as exc:
            log.warning("webhook receipts not prepared: database error %s", type(exc).__name__)
        try:
            redis_connection().ping()
        except RedisError as exc:
            log.warning("webhook receipts not prepared: Redis error %s", type(exc).__name__)


def _envelope(body: bytes) -> dict | None:
    try:
        data = json.loads(body.decode("utf-8"))  # stored as text: anything but UTF-8 is malformed
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict):
        return None
    details = data.get("details") if isinstance(data.get("details"), dict) else {}
    order = details.get("order") if isinstance(details.get("order"), dict) else {}
    fields = {
        "timestamp": data.get("timestamp"), "guid": data.get("guid"),
        "event_type": data.get("eventType") or data.get("eventCategory"),
        "restaurant_guid": details.get("restaurantGuid"), "order_guid": order.get("guid"),
    }
    if not all(isinstance(fields[key], str) and fields[key] for key in ("timestamp", "guid", "event_type")):
        return None
    if any(isinstance(fields[key], str) and not _plain(fields[key], GUID_MAX) for key in GUID_FIELDS):
        return None  # not a GUID: longer than their columns, or characters no GUID has (the database refuses some)
    fields["event_type"] = fields["event_type"][:64]
    if not _plain(fields["event_type"], 64):
        return None
    return fields


def _plain(value: str, longest: int) -> bool:
    """Printable ASCII of at most ``longest`` characters (no NUL, control character or lone surrogate)."""
    return len(value) <= longest and value.isascii() and value.isprintable()


def _int(value: str | None) -> int:
    try:
        return min(max(1, int(value or 1)), 10**6)  # Toast's attempt number; a bogus one must still fit the column
    except ValueError:
        return 1
