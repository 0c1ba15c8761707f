"""``flask guests rebuild``: recompute profiles from stored orders; ``flask guests rebuild-dashboard``: the
dashboard's daily figures. Errors are one line.

``flask guests export`` joins this group from ``portal.segments.cli`` (it can narrow the export to a segment).
"""
import click
from flask.cli import AppGroup

from portal.cli import one_line_errors, organization_by_slug
from portal.extensions import db
from portal.guests import daily, service

guests_cli = AppGroup("guests", help="Guest profiles.")


@guests_cli.command("rebuild")
@click.option("--org", "org_slug", required=True, help="Slug of the organization.")
@one_line_errors
def rebuild_guests(org_slug):
    """Recompute every guest of the organization from its stored orders (e.g. after a config refresh)."""
    org = organization_by_slug(org_slug)
    count = service.rebuild(org.id, progress=lambda done, total: click.echo(f"{done}/{total} orders", err=True))
    db.session.commit()
    click.echo(f"applied {count} orders to guest profiles of {org.slug}")


@guests_cli.command("rebuild-dashboard")
@click.option("--org", "org_slug", required=True, help="Slug of the organization.")
@one_line_errors
def rebuild_dashboard(org_slug):
    """Recompute the dashboard's daily figures from stored orders (after upgrading, or a time zone change)."""
    org = organization_by_slug(org_slug)
    days = daily.rebuild(db.session, org.id)
    db.session.commit()
    click.echo(f"recomputed {days} days of dashboard figures of {org.slug}")
