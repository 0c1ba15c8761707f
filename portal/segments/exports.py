"""Segment exports: the guests export (portal.guests.export) narrowed to a segment's members.

Guests who opted out of marketing are left out unless asked for; the caller says how many were left out.
"""
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timezone

from portal.audit.service import record
from portal.guests import export as guest_export
from portal.models import Segment
from portal.models.base import utcnow
from portal.segments import service


@dataclass
class SegmentExport:
    filename: str
    exported: int  # rows the export holds
    excluded: int  # opted-out members left out (0 when they were included)
    rows: Iterator[dict]  # typed records (portal.guests.export.records), streamed from the database

    @property
    def chunks(self) -> Iterator[str]:
        return guest_export.csv_chunks(self.rows)


def segment_export(segment: Segment, *, include_opted_out: bool = False, as_of: date | None = None) -> SegmentExport:
    """The segment's members as guest-export records, counted first. ``as_of`` (a UTC date, default today)
    is the "now" of the rules (days since last order...) and of the export's days_since_last_order."""
    now = _instant(as_of)
    rules = segment.rules
    contactable, opted_out = service.export_counts(segment.org_id, rules, now)
    ids = service.export_member_ids(segment.org_id, rules, include_opted_out=include_opted_out, now=now)
    rows = guest_export.records(segment.org_id, guest_export.EXPORT_ORDER, guest_ids=ids, as_of=now.date())
    stamp = now.date().isoformat()
    return SegmentExport(
        filename=f"{segment.slug}-{stamp}.csv",
        exported=contactable + (opted_out if include_opted_out else 0),
        excluded=0 if include_opted_out else opted_out,
        rows=rows,
    )


def segment_csv(segment: Segment, *, include_opted_out: bool, user=None) -> SegmentExport:
    """``segment_export`` for a download, recorded in the audit log (counts only, never guest data)."""
    result = segment_export(segment, include_opted_out=include_opted_out)
    record("export.downloaded", org_id=segment.org_id, target=segment, actor=user, details={
        "kind": "segment", "slug": segment.slug, "rows": result.exported, "excluded_opted_out": result.excluded,
        "include_opted_out": include_opted_out,
    })
    return result


def _instant(as_of: date | None) -> datetime:
    """The moment rules are evaluated at: now, or the end of the as-of date (UTC) for an export dated back."""
    if as_of is None:
        return utcnow()
    return datetime.combine(as_of, time(23, 59, 59), tzinfo=timezone.utc)
