"""What the connection pages show, computed once per request (no queries in templates)."""
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select

from portal.connections.service import missing_scopes
from portal.extensions import db
from portal.models import Location, SyncRun, ToastConnection
from portal.models.sync import RUN_FINISHED
from portal.sync.progress import Progress, of_runs, overall
from portal.sync.orders import BACKFILL
from portal.webhooks import ingress
from portal.webhooks.failures import connection_failures


@dataclass
class LocationStatus:
    location: Location
    last_run: SyncRun | None
    active_run: SyncRun | None
    progress: Progress | None = None


def webhook_url(connection: ToastConnection, base_url: str) -> str:
    """The address to give Toast; built from PORTAL_BASE_URL so the CLI can print it too."""
    return ingress.webhook_url(base_url, connection.webhook_token)


def location_statuses(locations: list[Location]) -> list[LocationStatus]:
    ids = [location.id for location in locations]
    runs = db.session.scalars(
        select(SyncRun).where(SyncRun.location_id.in_(ids)).order_by(SyncRun.id.desc()).limit(50 * max(1, len(ids)))
    ).all()
    statuses = []
    for location in locations:
        mine = [run for run in runs if run.location_id == location.id]
        active = next((run for run in mine if run.status not in RUN_FINISHED), None)
        statuses.append(LocationStatus(location, mine[0] if mine else None, active))
    going = of_runs([status.active_run for status in statuses if status.active_run],
                             current_app.config["TOAST_HISTORY_SPACING_S"])
    for status in statuses:
        status.progress = going.get(status.location.id)
    return statuses


def connection_summary(connection: ToastConnection, base_url: str) -> dict:
    statuses = location_statuses(list(connection.locations))
    return {
        "connection": connection,
        "missing": missing_scopes(connection),
        "webhook_url": webhook_url(connection, base_url),
        "statuses": statuses,
        "backfill": overall([status.progress for status in statuses
                                      if status.progress and status.active_run.kind == BACKFILL]),
        "webhook_failures": connection_failures(connection),
    }
