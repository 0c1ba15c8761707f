"""``flask segments ...``, and ``flask guests export`` (it joins the ``guests`` group in the app factory: it can
narrow the export to a segment's members). Errors are one line and exit non-zero."""
import json
import sys
from datetime import date

import click
from flask.cli import AppGroup, with_appcontext

from portal.cli import one_line_errors, organization_by_slug
from portal.errors import InputError
from portal.guests import export
from portal.segments import exports as segment_exports
from portal.segments import service

segments_cli = AppGroup("segments", help="Guest segments.")


@segments_cli.command("list")
@click.option("--org", "org_slug", required=True, help="Slug of the organization.")
@one_line_errors
def list_segments(org_slug):
    """Print the organization's segments as JSON: [{slug, name, member_count}]."""
    org = organization_by_slug(org_slug)
    click.echo(json.dumps(service.list_with_counts(org.id), indent=2))


@click.command("export")
@click.option("--org", "org_slug", required=True, help="Slug of the organization.")
@click.option("--segment", "segment_slug",
              help="Only the members of this segment (opted-out members left out unless --include-opted-out).")
@click.option("--include-opted-out", is_flag=True, help="With --segment: also members who opted out of marketing.")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
@click.option("--as-of", "as_of", help="Date (YYYY-MM-DD, UTC) days_since_last_order counts to; default today.")
@with_appcontext
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


def _as_of(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InputError("--as-of must be a date like 2026-03-31") from None


def _segment_rows(org_id: int, slug: str, day: date | None, include_opted_out: bool):
    """The segment's members (membership as of the end of ``day``); says on stderr how many there are and how
    many opted-out members were left out."""
    segment = service.segment_by_slug(org_id, slug)
    result = segment_exports.segment_export(segment, include_opted_out=include_opted_out, as_of=day)
    click.echo(f"segment {slug}: {result.exported} guests exported, {result.excluded} opted-out members left out"
               + ("" if include_opted_out else " (--include-opted-out adds them)"), err=True)
    return result.rows
