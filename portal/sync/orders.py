"""Order sync of one location, one ``/ordersBulk`` page per step: the 12-week backfill and the incremental poll.

Both walk orders by modified time in windows of at most one month. Each step fetches the page the location's
cursor names, stores its orders and moves the cursor in one transaction, so a killed worker resumes at the page
it had not stored and never downloads a stored page again. A step never waits: when Toast's limits (or the
history spacing) do not allow the call yet, it says how long until they do, and the scheduler serves other
locations meanwhile (``portal.sync.scheduler``).

Cursors (``sync_bookmarks``): the backfill's ``{days, start, end, window_start, page, marker, done}``, its end (the
signpost) fixed when the run is first prepared; the poll's ``{modified_after}`` plus, while a poll runs,
``in_progress: {start, end, window_start, page, marker}``. The bookmark moves only when a poll completes.
"""
from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import SQLAlchemyError

from portal.extensions import db
from portal.models import Location, SyncRun
from portal.models.base import utcnow
from portal.models.sync import RUN_FAILED, RUN_RUNNING, RUN_SUCCEEDED
from portal.sync import bookmarks
from portal.sync.clients import ConnectionNeedsReconnect
from portal.sync.store import store_orders
from portal.toast.client import ToastClient, add_one_month
from portal.toast.errors import AuthError, RetryableAPIError, ToastError, TokenBudgetExceeded
from portal.toast.pacing import ORDERS_BULK

BACKFILL, POLL = "backfill", "poll"
MAX_TRANSIENT_FAILURES = 8  # in a row; then the run fails and the next scheduled poll starts over from the bookmark
BACKOFF_CAP_S = 300.0


@dataclass(frozen=True)
class Step:
    """What one step did and what comes next for the location."""

    done: bool  # the run is over (succeeded or failed): no next page
    delay: float = 0.0  # seconds until the location's next page may be fetched
    account_wide: bool = False  # the client's account cap is spent: hold every location of the organization
    completed: str | None = None  # BACKFILL or POLL when this step completed one


def prepare_backfill(location: Location, days: int) -> None:
    """Fix the backfill's signpost, unless a backfill of the same depth is under way (then it resumes)."""
    cursor = bookmarks.load(location, bookmarks.BACKFILL)
    if cursor.get("days") == days and not cursor.get("done"):
        return
    end = utcnow()
    start = bookmarks.text(end - timedelta(days=days))
    bookmarks.save(location, bookmarks.BACKFILL,
                   {"days": days, "start": start, "end": bookmarks.text(end), "window_start": start, "page": 1})


def step(client: ToastClient, location: Location, run: SyncRun, *, spacing: float, fallback_days: int,
         clock=time.monotonic) -> Step:
    """Fetch and store the next page of ``run`` (a backfill or a poll of ``location``); commits."""
    stream = bookmarks.BACKFILL if run.kind == BACKFILL else bookmarks.ORDERS
    state = bookmarks.load(location, stream)
    cursor = state if run.kind == BACKFILL else _poll_cursor(state, fallback_days)
    if run.kind == BACKFILL and (not cursor or cursor.get("done")):
        return _complete(location, run, state, cursor)
    end = bookmarks.ts(cursor["end"])
    window_start = bookmarks.ts(cursor["window_start"])
    if window_start >= end:
        return _complete(location, run, state, cursor)
    spacing = spacing if run.kind == BACKFILL else 0.0
    slot = client.try_acquire(ORDERS_BULK, location.guid, min_spacing=spacing)
    if slot.delay > 0:
        return Step(False, slot.delay, slot.account_wide)
    if run.status != RUN_RUNNING:
        run.status, run.started_at = RUN_RUNNING, run.started_at or utcnow()
    guid = location.guid
    db.session.commit()  # no transaction (on SQLite: the write lock) stays open while Toast is called
    sent_at = clock()
    window_end = min(add_one_month(window_start), end)
    try:
        page = client.orders_page(guid, window_start, window_end, page=cursor["page"],
                                  previous=cursor.get("marker"), slot_taken=True)
    except (RetryableAPIError, TokenBudgetExceeded) as exc:
        return _transient(location, run, stream, state, cursor, exc)
    written = store_orders(location, page.orders).written
    cursor.pop("failures", None)
    if page.next_page is None:
        cursor.update(window_start=bookmarks.text(window_end), page=1)
        cursor.pop("marker", None)
    else:
        cursor.update(page=page.next_page, marker=list(page.marker))
    run.pages += 1
    run.orders += len(written)
    run.progress = _describe(cursor, window_start, window_end, page.page)[:255]
    run.error = None
    location.last_synced_at = utcnow()
    _save(location, stream, state, cursor)
    db.session.commit()
    if bookmarks.ts(cursor["window_start"]) >= end:
        return _complete(location, run, state, cursor)
    return Step(False, max(0.0, sent_at + spacing - clock()))


def fail(location: Location, run: SyncRun, exc: Exception) -> Step:
    """End the run as failed with a reason a person can read; commits."""
    db.session.rollback()
    if isinstance(exc, AuthError):
        location.connection.mark_reconnect(exc.reason)
    run.status, run.error, run.finished_at = RUN_FAILED, describe_error(exc), utcnow()
    db.session.commit()
    return Step(True)


class RunStopped(Exception):
    """A run ends for a reason written to be shown (e.g. the location was disconnected)."""


def describe_error(exc: Exception) -> str:
    """The reason shown on the connections page: Toast's refusals and errors, or our own; any other exception's
    text (SQL, a programming error) stays in the worker's log, never on a page."""
    if isinstance(exc, AuthError):
        return f"Toast refused access: {exc.reason}"
    if isinstance(exc, (ToastError, RunStopped, ConnectionNeedsReconnect)):
        return str(exc)[:1000] or type(exc).__name__
    if isinstance(exc, SQLAlchemyError):
        return "a database error stopped this run (logged for the Tablecloth team)"
    return "an internal error stopped this run (logged for the Tablecloth team)"


def _poll_cursor(state: dict, fallback_days: int) -> dict:
    """The running poll's cursor, or a new one from the bookmark to now (this run's signpost)."""
    if state.get("in_progress"):
        return state["in_progress"]
    now = utcnow()
    after = state.get("modified_after") or bookmarks.text(now - timedelta(days=fallback_days))
    state["in_progress"] = {"start": after, "end": bookmarks.text(now), "window_start": after, "page": 1}
    return state["in_progress"]


def _save(location: Location, stream: str, state: dict, cursor: dict) -> None:
    bookmarks.save(location, stream, cursor if stream == bookmarks.BACKFILL else state)


def _transient(location, run, stream, state, cursor, exc) -> Step:
    """Toast is busy or down: try this page again later (backing off), unless it failed too often in a row."""
    db.session.rollback()
    failures = int(cursor.get("failures", 0)) + 1
    if failures > MAX_TRANSIENT_FAILURES:
        if stream == bookmarks.ORDERS:
            state.pop("in_progress", None)  # the next poll starts again from the bookmark
        else:
            cursor.pop("failures", None)
        _save(location, stream, state, cursor)
        return fail(location, run, exc)
    cursor["failures"] = failures
    _save(location, stream, state, cursor)
    run.error = f"will retry: {describe_error(exc)}"
    db.session.commit()
    retry_after = getattr(exc, "retry_after", None)
    delay = retry_after if retry_after is not None else random.random() * min(BACKOFF_CAP_S, 2.0 ** failures)
    return Step(False, max(delay, 0.5))


def _complete(location: Location, run: SyncRun, state: dict, cursor: dict) -> Step:
    now = utcnow()
    if run.kind == BACKFILL:
        cursor["done"] = True
        bookmarks.save(location, bookmarks.BACKFILL, cursor)
        location.backfill_completed_at = location.backfill_completed_at or now
        if not bookmarks.load(location, bookmarks.ORDERS).get("modified_after"):
            # Incremental polling carries on from the backfill's signpost.
            bookmarks.save(location, bookmarks.ORDERS, {"modified_after": cursor["end"]})
    else:
        finished = state.pop("in_progress", None) or cursor
        bookmarks.save(location, bookmarks.ORDERS, {**state, "modified_after": finished["end"]})
    run.status, run.finished_at, run.error = RUN_SUCCEEDED, now, None
    run.progress = "done"
    location.last_synced_at = now
    db.session.commit()
    return Step(True, completed=run.kind)


def _describe(cursor: dict, window_start: datetime, window_end: datetime, page: int) -> str:
    return f"window {window_start:%Y-%m-%d} to {window_end:%Y-%m-%d}, page {page}"


def windows_total(cursor: dict) -> tuple[int, int]:
    """(windows done, windows in all) of a backfill or poll cursor, for progress and the ETA."""
    start, end, at = (bookmarks.ts(cursor.get(key)) for key in ("start", "end", "window_start"))
    if start is None or end is None:
        return 0, 0
    total = done = 0
    moment = start
    while moment < end:
        total += 1
        done += 1 if at is not None and at >= min(add_one_month(moment), end) else 0
        moment = add_one_month(moment)
    return done, total
