"""``flask toast connect``: the command-line twin of the connect pages (joins the ``toast`` group in the app
factory, beside ``flask toast sync``)."""
import json
import os
import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from portal.cli import one_line_errors, organization_by_slug
from portal.connections import service
from portal.connections.views import webhook_url
from portal.extensions import db
from portal.sync import runs


@click.command("connect")
@click.option("--org", "org_slug", required=True)
@click.option("--host", required=True, help="Toast API base URL, e.g. https://ws-api.toasttab.com")
@click.option("--client-id", required=True)
@click.option("--webhook-secret", envvar="TOAST_WEBHOOK_SECRET", default=None, help="or TOAST_WEBHOOK_SECRET")
@click.option("--restaurant", "restaurants", multiple=True, help="Location GUID (repeatable); default: all found")
@click.option("--sync/--no-sync", default=True, help="Queue the configuration refresh and backfill.")
@with_appcontext
@one_line_errors
def connect(org_slug, host, client_id, webhook_secret, restaurants, sync):
    """Store credentials (client secret from TOAST_CLIENT_SECRET or stdin) and connect locations; prints JSON."""
    secret = os.environ.get("TOAST_CLIENT_SECRET") or sys.stdin.readline().strip()
    org = organization_by_slug(org_slug)
    connection = service.create_connection(org, host=host, client_id=client_id, client_secret=secret,
                                           webhook_secret=webhook_secret)
    db.session.commit()  # the token cache is read through its own connection from here on
    try:
        typed = service.parse_guids(" ".join(restaurants))
        found = {loc.guid: loc for loc in service.discover(connection, typed)}
        chosen = typed or [guid for guid, loc in found.items() if not loc.connected_elsewhere]
        names = {guid: found[guid].name if guid in found else "" for guid in chosen}
        locations = service.connect_locations(connection, chosen, names)
        db.session.commit()
    except Exception:
        db.session.rollback()
        db.session.delete(connection)  # nothing half-connected stays behind
        db.session.commit()
        raise
    if sync:
        for location in locations:
            runs.start(location, runs.CONFIG)
            runs.start(location, runs.BACKFILL)
    click.echo(json.dumps({
        "connection_id": connection.id,
        "webhook_url": webhook_url(connection, current_app.config["PORTAL_BASE_URL"]),
        "restaurants": [{"guid": loc.guid, "name": loc.name} for loc in locations],
    }))
