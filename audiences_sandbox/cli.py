"""``flask audiences sandbox``: serve a local Mailchimp or Klaviyo API and print its credentials as one JSON line.

``--rate N`` sets requests per second per key (Klaviyo: burst N/s and steady ``--steady`` per minute), so a
benchmark has a rate-limit floor worth measuring; Mailchimp always allows 10 simultaneous connections per key.
"""
import json
import os
import signal
import sys

import click
from werkzeug.serving import run_simple

from audiences_sandbox.klaviyo import create_klaviyo_app
from audiences_sandbox.limits import Limits
from audiences_sandbox.mailchimp import create_mailchimp_app


def build(kind: str, *, rate: int | None, steady: int | None, api_key: str | None = None,
          list_id: str | None = None, latency: float = 0.0):
    """The sandbox app and its state object (credentials, members) for ``kind``."""
    if kind == "mailchimp":
        limits = Limits(windows=((rate, 1.0),) if rate else (), concurrent=10, latency=latency)
        app = create_mailchimp_app(api_key=api_key, list_id=list_id or "a1b2c3d4e5", limits=limits)
        return app, app.extensions["mailchimp_sandbox"]
    windows = ((rate or 10, 1.0), (steady or 150, 60.0))
    app = create_klaviyo_app(api_key=api_key, list_id=list_id or "Xy12Ab", limits=Limits(windows=windows,
                                                                                         latency=latency))
    return app, app.extensions["klaviyo_sandbox"]


@click.command("sandbox")
@click.option("--kind", type=click.Choice(["mailchimp", "klaviyo"]), required=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8901, show_default=True, type=click.IntRange(1, 65535))
@click.option("--rate", type=click.IntRange(1), default=None,
              help="Requests per second per key (Mailchimp: off by default; Klaviyo: burst, default 10).")
@click.option("--steady", type=click.IntRange(1), default=None, help="Klaviyo: requests per minute (default 150).")
@click.option("--latency", type=click.FloatRange(0, 10), default=0.0, help="Seconds each request takes.")
@click.option("--api-key", default=None, help="The key to accept (default: a new one; Mailchimp's ends in -us19).")
@click.option("--list-id", default=None, help="The list to serve.")
@click.option("--state", "state_path", default=None, type=click.Path(dir_okay=False),
              help="Mailchimp: keep the audience in this JSON file across restarts.")
def sandbox_command(kind, host, port, rate, steady, latency, api_key, list_id, state_path):
    """Serve a stateful local Mailchimp or Klaviyo API (the parts an audience sync uses)."""
    if state_path and kind != "mailchimp":
        raise click.BadParameter("only the Mailchimp sandbox keeps its state in a file", param_hint="--state")
    app, state = build(kind, rate=rate, steady=steady, latency=latency, api_key=api_key, list_id=list_id)
    if state_path and os.path.exists(state_path):
        state.load(state_path)
    base = f"http://{host}:{port}" + ("/3.0" if kind == "mailchimp" else "")
    click.echo(json.dumps({**state.credentials(base), "admin_base_url": f"http://{host}:{port}/sandbox"}))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # Ctrl-C or make run's stop: save, then leave
    try:
        run_simple(host, port, app, threaded=True, use_reloader=False)
    finally:
        if state_path:
            state.save(state_path)
