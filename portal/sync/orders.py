"""Order sync of one location: the paced 12-week backfill and the incremental poll.

Both walk ``/ordersBulk`` by modified time in windows of at most one month and checkpoint after every
page, so a killed worker resumes where it stopped and never downloads a finished window again.
"""
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from portal.extensions import db
from portal.models import Location
from portal.models.base import utcnow
from portal.sync import bookmarks
from portal.sync.prefetch import prefetched
from portal.sync.store import StoreResult, store_orders
from portal.toast.client import ToastClient, add_one_month

Progress = Callable[[str, int, int], None]  # (message, pages so far, orders so far)


@dataclass
class Window:
    start: datetime
    end: datetime


def windows(start: datetime, end: datetime) -> list[Window]:
    """[start, end) cut into consecutive windows of at most one month (Toast rejects longer ones)."""
    result = []
    while start < end:
        stop = min(add_one_month(start), end)
        result.append(Window(start, stop))
        start = stop
    return result


def backfill(client: ToastClient, location: Location, *, days: int, spacing: float, progress: Progress) -> StoreResult:
    """Pull ``days`` of history, resuming from the bookmark. The signpost (end) is fixed at the first start."""
    cursor = bookmarks.load(location, bookmarks.BACKFILL)
    if cursor.get("days") != days:  # first run, or a different depth asked for: a new signpost
        end = utcnow()
        cursor = {"days": days, "start": bookmarks.text(end - timedelta(days=days)), "end": bookmarks.text(end),
                  "window_start": bookmarks.text(end - timedelta(days=days)), "page": 1}
    if cursor.get("done"):
        return StoreResult()
    total = _walk(client, location, cursor, bookmarks.BACKFILL, spacing, progress)
    cursor["done"] = True
    bookmarks.save(location, bookmarks.BACKFILL, cursor)
    location.backfill_completed_at = utcnow()
    # Incremental polling carries on from the backfill's signpost.
    if not bookmarks.load(location, bookmarks.ORDERS):
        bookmarks.save(location, bookmarks.ORDERS, {"modified_after": cursor["end"]})
    db.session.commit()
    return total


def poll(client: ToastClient, location: Location, *, progress: Progress, fallback_days: int) -> StoreResult:
    """Orders modified since the bookmark; the bookmark moves to this run's start time only on success."""
    signpost = utcnow()
    state = bookmarks.load(location, bookmarks.ORDERS)
    after = state.get("modified_after") or bookmarks.text(signpost - timedelta(days=fallback_days))
    cursor = {"start": after, "end": bookmarks.text(signpost), "window_start": after, "page": 1}
    cursor.update(state.get("in_progress") or {})
    total = _walk(client, location, cursor, bookmarks.ORDERS, 0.0, progress, wrap_key="in_progress")
    bookmarks.save(location, bookmarks.ORDERS, {"modified_after": cursor["end"]})
    db.session.commit()
    return total


def _walk(client, location, cursor, stream, spacing, progress, wrap_key=None) -> StoreResult:
    """Fetch every page of every window from the cursor on, committing the orders and the cursor per page."""
    total = StoreResult()
    pages = 0
    end = bookmarks.ts(cursor["end"])
    for window in windows(bookmarks.ts(cursor["window_start"]), end):
        pages_of_window = client.orders_bulk(location.guid, window.start, window.end, start_page=cursor["page"],
                                             min_spacing=spacing)
        for page in prefetched(pages_of_window):
            total += store_orders(location, page.orders)
            pages += 1
            cursor["page"] = page.next_page or 1
            if page.next_page is None:
                cursor["window_start"] = bookmarks.text(window.end)
            _checkpoint(location, stream, cursor, wrap_key)
            progress(f"window {window.start:%Y-%m-%d} to {window.end:%Y-%m-%d}, page {page.page}", pages, len(total.written))
        cursor["window_start"], cursor["page"] = bookmarks.text(window.end), 1
        _checkpoint(location, stream, cursor, wrap_key)
    location.last_synced_at = utcnow()
    return total


def _checkpoint(location: Location, stream: str, cursor: dict, wrap_key: str | None) -> None:
    if wrap_key is None:
        bookmarks.save(location, stream, cursor)
    else:
        state = bookmarks.load(location, stream)
        state[wrap_key] = {"window_start": cursor["window_start"], "page": cursor["page"], "end": cursor["end"]}
        bookmarks.save(location, stream, state)
    db.session.commit()
