"""``flask audiences``: connect a destination, run a segment's sync, print the run history; ``flask audiences
sandbox`` (the local Mailchimp/Klaviyo servers) comes from the ``tablecloth.audiences_commands`` entry point."""
import json
import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from portal.audiences import clients, runs, service
from portal.cli import one_line_errors, organization_by_slug
from portal.errors import InputError
from portal.extensions import db
from portal.models.audience import KINDS
from portal.plugin_commands import PluginGroup
from portal.segments import service as segments

audiences_cli = PluginGroup("audiences", plugins="tablecloth.audiences_commands",
                            help="Mirror segments into Mailchimp and Klaviyo lists.")


@audiences_cli.command("connect")
@click.option("--org", "org_slug", required=True)
@click.option("--kind", type=click.Choice(KINDS), required=True)
@click.option("--base-url", default="", help="API base URL (default: Mailchimp's from the key, Klaviyo's own)")
@click.option("--list-id", default="", help="The list (audience) to sync into")
@click.option("--webhook-base", default=None, help="Portal URL Mailchimp posts unsubscribes to (PORTAL_BASE_URL)")
@with_appcontext
@one_line_errors
def connect(org_slug, kind, base_url, list_id, webhook_base):
    """Check and store a destination (API key on stdin); prints JSON with its id."""
    api_key = sys.stdin.readline().strip()
    org = organization_by_slug(org_slug)
    destination = service.connect(org.id, kind=kind, base_url=base_url, api_key=api_key, list_id=list_id,
                                  webhook_base=webhook_base or current_app.config["PORTAL_BASE_URL"])
    db.session.commit()
    click.echo(json.dumps({"destination_id": destination.id, "kind": kind, "name": destination.name,
                           "list_id": destination.list_id}))


@audiences_cli.command("sync")
@click.option("--org", "org_slug", required=True)
@click.option("--segment", "segment_slug", required=True)
@click.option("--destination", "destination_id", required=True)
@click.option("--fields", default=None, help="Comma-separated fields to send (default: the sync's own)")
@click.option("--inline", is_flag=True, help="Run here and print the counts when done (else queue it)")
@with_appcontext
@one_line_errors
def sync(org_slug, segment_slug, destination_id, fields, inline):
    """Start (or resume) a run of the segment's sync to the destination; prints the run's counts as JSON."""
    org = organization_by_slug(org_slug)
    segment = segments.segment_by_slug(org.id, segment_slug)
    destination = service.destination_of(org.id, destination_id)
    keys = [k.strip() for k in fields.split(",") if k.strip()] if fields is not None else None
    audience_sync = service.sync_for(segment, destination, keys)
    run = service.start_run(audience_sync, "cli", enqueue=not inline)
    if inline:
        try:
            run = runs.execute(run.id)
        except runs.RunBusy:
            raise InputError("another process is running this sync right now; try again in a minute") from None
        except clients.DestinationError as exc:
            raise InputError(f"the run stopped: {exc.reason} (run {run.id}; a later run resumes it)") from None
    click.echo(json.dumps(service.run_summary(run)))


@audiences_cli.command("runs")
@click.option("--org", "org_slug", required=True)
@with_appcontext
@one_line_errors
def runs_history(org_slug):
    """The organization's audience runs, newest first, as JSON."""
    org = organization_by_slug(org_slug)
    click.echo(json.dumps([service.run_summary(run) for run in service.history(org.id)]))
