"""``flask guests ...``: export guests to stdout, rebuild profiles from stored orders. Errors are one line."""
import importlib
import sys
from datetime import date

import click
from flask.cli import AppGroup

from portal.accounts.service import organization_by_slug
from portal.cli import one_line_errors
from portal.errors import InputError
from portal.extensions import db
from portal.guests import export, service

guests_cli = AppGroup("guests", help="Guest profiles.")


def _as_of(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InputError("--as-of must be a date like 2026-03-31") from None


@guests_cli.command("export")
@click.option("--org", "org_slug", required=True, help="Slug of the organization.")
@click.option("--segment", "segment_slug",
              help="Only the members of this segment (opted-out members left out unless --include-opted-out).")
@click.option("--include-opted-out", is_flag=True, help="With --segment: also members who opted out of marketing.")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
@click.option("--as-of", "as_of", help="Date (YYYY-MM-DD, UTC) days_since_last_order counts to; default today.")
@one_line_errors
def export_guests(org_slug, segment_slug, include_opted_out, fmt, as_of):
    """Write one row (CSV) or object (a JSON array, one object per line) per guest to standard output.

    Money in dollars with two decimals (exact from cents), timestamps ISO 8601 UTC, locations as restaurant GUIDs.
    """
    org = organization_by_slug(org_slug)
    day = _as_of(as_of)
    if segment_slug:
        rows = _segment_rows(org.id, segment_slug, day, include_opted_out)
    else:
        rows = export.records(org.id, as_of=day)
    chunks = export.csv_chunks(rows) if fmt == "csv" else export.json_chunks(rows)
    out = sys.stdout
    for chunk in chunks:
        out.write(chunk)
    out.flush()


def _segment_rows(org_id: int, slug: str, day: date | None, include_opted_out: bool):
    """The segment's members (portal.segments decides membership as of the end of ``day``); says on stderr
    how many there are and how many opted-out members were left out."""
    try:
        segment_exports = importlib.import_module("portal.segments.exports")
        segments = importlib.import_module("portal.segments.service")
    except ImportError:
        raise InputError("segments are not available yet") from None
    segment = segments.segment_by_slug(org_id, slug)
    result = segment_exports.segment_export(segment, include_opted_out=include_opted_out, as_of=day)
    click.echo(f"segment {slug}: {result.exported} guests exported, {result.excluded} opted-out members left out"
               + ("" if include_opted_out else " (--include-opted-out adds them)"), err=True)
    return result.rows


@guests_cli.command("rebuild")
@click.option("--org", "org_slug", required=True, help="Slug of the organization.")
@one_line_errors
def rebuild_guests(org_slug):
    """Recompute every guest of the organization from its stored orders (e.g. after a config refresh)."""
    org = organization_by_slug(org_slug)
    count = service.rebuild(org.id, progress=lambda done, total: click.echo(f"{done}/{total} orders", err=True))
    db.session.commit()
    click.echo(f"applied {count} orders to guest profiles of {org.slug}")
