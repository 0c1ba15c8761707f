"""How far an order run has come, for the connections page and ``flask toast sync``: windows and pages done,
orders stored and an estimate of the time left from the history spacing (Toast says nothing of how many pages a
window holds, so the pages still to come are estimated from the windows done so far)."""
from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import select

from portal.extensions import db
from portal.models import SyncBookmark, SyncRun
from portal.sync import bookmarks, orders


@dataclass(frozen=True)
class Progress:
    windows_done: int
    windows_total: int
    pages: int
    orders: int
    seconds_left: float | None  # None: no estimate yet (no window done)

    @property
    def percent(self) -> int:
        return round(100 * self.windows_done / self.windows_total) if self.windows_total else 0

    def text(self) -> str:
        parts = [f"{self.windows_done} of {self.windows_total} windows", f"{self.pages:,} pages",
                 f"{self.orders:,} orders"]
        if self.seconds_left is not None and self.windows_done < self.windows_total:
            parts.append(f"about {duration(self.seconds_left)} left")
        return " · ".join(parts)


def of_runs(active: list[SyncRun], spacing: float) -> dict[int, Progress]:
    """Progress of the active order runs, by location id (one query for their cursors)."""
    order_runs = [run for run in active if run.kind in (orders.BACKFILL, orders.POLL)]
    if not order_runs:
        return {}
    cursors = {
        (row.location_id, row.stream): bookmarks.decode(row.cursor)
        for row in db.session.scalars(select(SyncBookmark).where(
            SyncBookmark.location_id.in_([run.location_id for run in order_runs])))
    }
    result = {}
    for run in order_runs:
        if run.kind == orders.BACKFILL:
            cursor = cursors.get((run.location_id, bookmarks.BACKFILL), {})
        else:
            cursor = cursors.get((run.location_id, bookmarks.ORDERS), {}).get("in_progress") or {}
        result[run.location_id] = estimate(run, cursor, spacing if run.kind == orders.BACKFILL else 0.0)
    return result


def estimate(run: SyncRun, cursor: dict, spacing: float) -> Progress:
    done, total = orders.windows_total(cursor)
    seconds_left = None
    if done and run.pages:
        pages_left = math.ceil(run.pages / done * (total - done))
        seconds_left = pages_left * max(spacing, 0.2)  # 0.2 s: ordersBulk allows 5 calls a second per location
    return Progress(done, total, run.pages, run.orders, seconds_left)


def overall(progresses: list[Progress]) -> Progress | None:
    """One bar for a group: windows of every location, the ETA of the slowest (locations run side by side)."""
    if not progresses:
        return None
    known = [p.seconds_left for p in progresses if p.seconds_left is not None]
    return Progress(sum(p.windows_done for p in progresses), sum(p.windows_total for p in progresses),
                    sum(p.pages for p in progresses), sum(p.orders for p in progresses),
                    max(known) if len(known) == len(progresses) else None)


def duration(seconds: float) -> str:
    minutes = max(1, round(seconds / 60))
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"
