"""``flask toast sandbox``: serve a live sandbox world over HTTP for demos and manual testing.

Prints one JSON line with everything a client needs (base URL, group client credentials, GUIDs, webhook
secret), then serves until interrupted. World time follows the wall clock, so new orders keep arriving.
"""
import json

import click
from werkzeug.serving import run_simple

from portal.toast.sandbox.app import create_sandbox_app
from portal.toast.sandbox.clients import ACCESS_TYPE, GROUP_CLIENT
from portal.toast.sandbox.webhooks import WebhookConfig


def run_sandbox(host: str = "127.0.0.1", port: int = 8899, seed: int = 1, restaurants: int = 3, days: int = 120,
                webhook_url: str | None = None, echo=click.echo) -> None:
    """Build the world, announce the credentials as one JSON line through ``echo``, and serve (threaded)."""
    webhooks = WebhookConfig(url=webhook_url) if webhook_url else None
    app = create_sandbox_app(seed=seed, restaurants=restaurants, days=days, webhooks=webhooks, live=True)
    sandbox = app.extensions["toast_sandbox"]
    credentials = sandbox.credentials(GROUP_CLIENT)
    echo(json.dumps({
        "base_url": f"http://{host}:{port}", "client_id": credentials["client_id"],
        "client_secret": credentials["client_secret"], "user_access_type": ACCESS_TYPE,
        "scopes": credentials["scopes"], "management_group_guid": sandbox.group_guid,
        "restaurant_guids": sandbox.restaurant_guids, "webhook_secret": sandbox.webhook_secret,
        "webhook_url": webhook_url, "admin_base_url": f"http://{host}:{port}/sandbox",
    }))
    dispatcher = app.extensions.get("toast_sandbox_webhooks")
    if dispatcher is not None:
        dispatcher.start()
    try:
        run_simple(host, port, app, threaded=True, use_reloader=False)
    finally:
        if dispatcher is not None:
            dispatcher.stop()


@click.command("sandbox")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8899, show_default=True, type=click.IntRange(1, 65535))
@click.option("--seed", default=1, show_default=True, type=int, help="World seed (same seed, same world).")
@click.option("--restaurants", default=3, show_default=True, type=click.IntRange(1, 50))
@click.option("--days", default=120, show_default=True, type=click.IntRange(1, 730), help="Days of order history.")
@click.option("--webhook-url", default=None, help="Send order_updated webhooks for live changes to this URL.")
def sandbox_command(host: str, port: int, seed: int, restaurants: int, days: int, webhook_url: str | None) -> None:
    """Serve a local Toast API sandbox (orders, menus, config, labor, restaurants, partners)."""
    run_sandbox(host=host, port=port, seed=seed, restaurants=restaurants, days=days, webhook_url=webhook_url)
