"""``flask toast sync | sandbox`` (``flask toast connect`` joins the group from ``portal.connections.cli``)."""
import logging
import os
import sys

import click
from flask import current_app
from sqlalchemy import select

from portal.cli import one_line_errors, organization_by_slug
from portal.errors import InputError
from portal.extensions import db
from portal.models import Location, SyncRun
from portal.plugin_commands import PluginGroup
from portal.sync import progress, refresh, runs, steps
from portal.sync.scheduler import Scheduler

# `flask toast sandbox` comes from the toast_sandbox package, through its entry point in pyproject.toml.
toast_cli = PluginGroup("toast", plugins="tablecloth.toast_commands", help="Connect Toast locations and sync them.")


@toast_cli.command("sync")
@click.option("--org", "org_slug", required=True)
@click.option("--restaurant", default=None, help="One location GUID; default: every location of the organization")
@click.option("--days", type=click.IntRange(1, 3650), default=None, help="History depth (default TOAST_BACKFILL_DAYS, 84)")
@click.option("--inline", is_flag=True, help="Run here, without a worker, printing progress.")
@one_line_errors
def sync(org_slug, restaurant, days, inline):
    """Refresh configuration and pull orders: the backfill (resumed) until complete, then the incremental poll."""
    org = organization_by_slug(org_slug)
    query = select(Location).where(Location.org_id == org.id, Location.active.is_(True)).order_by(Location.id)
    if restaurant:
        query = query.where(Location.guid == restaurant.lower())
    location_ids = [location.id for location in db.session.scalars(query)]
    if not location_ids:
        raise InputError(f"no connected location{' ' + restaurant if restaurant else ''} in '{org.slug}'")
    if inline:
        _inline(location_ids, days)
        return
    for location_id in location_ids:
        location = db.session.get(Location, location_id)
        for step in (runs.CONFIG, _order_kind(location, days)):
            run = runs.start(location, step, days=days if step == runs.BACKFILL else None)
            click.echo(f"queued {step} of {location.display_name} (run {run.id})")


def _order_kind(location: Location, days: int | None) -> str:
    return runs.POLL if location.backfill_completed_at and days is None else runs.BACKFILL


def _inline(location_ids: list[int], days: int | None) -> None:
    """Here, without a worker: configuration first, then every location's order pages through the same paced,
    interleaved scheduler as the workers (in a namespace of this process's own)."""
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr)
    order_scheduler = runs.scheduler()
    order_scheduler = Scheduler(order_scheduler.redis, namespace=f"sync-inline-{os.getpid()}",
                                in_flight=order_scheduler.in_flight, lease_seconds=order_scheduler.lease_ms / 1000)
    order_runs = {}
    try:
        for location_id in location_ids:
            location = db.session.get(Location, location_id)
            name = location.display_name
            run = runs.new_run(location, runs.CONFIG, f"inline-{location_id}-config")
            db.session.commit()
            click.echo(f"config of {name}...", err=True)
            try:
                refresh.refresh_config(location_id, run.id)
            except Exception:  # the run row holds the reason; show it in one line
                raise click.ClickException(f"config of {name} failed: {_error_of(run.id)}") from None
            location = db.session.get(Location, location_id)
            kind = _order_kind(location, days)
            order_runs[location_id] = (name, runs.start(location, kind, days=days, order_scheduler=order_scheduler).id)
        steps.serve_until_done(order_scheduler, report=lambda task, step: _report(*order_runs[task.location_id]))
    finally:
        order_scheduler.clear()
    failed = [f"{name}: {_error_of(run_id)}" for name, run_id in order_runs.values()
              if db.session.get(SyncRun, run_id).status != "succeeded"]
    if failed:
        raise click.ClickException("orders sync failed: " + "; ".join(failed))
    click.echo("done", err=True)


def _report(name: str, run_id: int) -> None:
    run = db.session.get(SyncRun, run_id)
    going = progress.of_runs([run], current_app.config["TOAST_HISTORY_SPACING_S"]).get(run.location_id)
    click.echo(f"{name}: {run.kind} {going.text() if going else run.progress or ''}", err=True)
    db.session.remove()


def _error_of(run_id: int) -> str:
    run = db.session.get(SyncRun, run_id)
    return (run.error if run else None) or "unknown error"
