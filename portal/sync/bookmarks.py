"""Per-location stream state (Singer-style): read, and write only what the caller says."""
import json
from datetime import datetime

from sqlalchemy import select

from portal.extensions import db
from portal.models import Location, SyncBookmark
from portal.models.base import utcnow
from portal.toast.timefmt import format_toast_ts, parse_toast_ts

BACKFILL = "backfill"
ORDERS = "orders"


def load(location: Location, stream: str) -> dict:
    row = _row(location, stream)
    return decode(row.cursor) if row else {}


def decode(cursor: str | None) -> dict:
    return json.loads(cursor) if cursor else {}


def save(location: Location, stream: str, cursor: dict) -> None:
    row = _row(location, stream)
    if row is None:
        row = SyncBookmark(org_id=location.org_id, location_id=location.id, stream=stream)
        db.session.add(row)
    row.cursor = json.dumps(cursor, sort_keys=True)
    row.updated_at = utcnow()


def _row(location: Location, stream: str) -> SyncBookmark | None:
    return db.session.scalar(
        select(SyncBookmark).where(SyncBookmark.location_id == location.id, SyncBookmark.stream == stream)
    )


def ts(value: str | None) -> datetime | None:
    return parse_toast_ts(value) if value else None


def text(moment: datetime) -> str:
    return format_toast_ts(moment)
