"""``flask toast sandbox``: serve a live sandbox world over HTTP for demos, manual testing and benchmarks.

Prints one JSON line with everything a client needs (base URL, the first group client's credentials, GUIDs,
webhook secret, and under ``groups`` every management group's own client), then serves until interrupted. World
time follows the wall clock, so new orders keep arriving; their signed webhooks go to ``--webhook-url`` (every
location) and to the URL each client registers with ``PUT /sandbox/clients/<client_id>/webhook``.
"""
import json

import click
from werkzeug.serving import run_simple

from toast_sandbox.app import create_sandbox_app
from toast_sandbox.clients import ACCESS_TYPE, GROUP_CLIENT
from toast_sandbox.ratelimit import RateLimitConfig
from toast_sandbox.webhooks import WebhookConfig, WebhookDispatcher

MAX_RESTAURANTS = 1000


def run_sandbox(host: str = "127.0.0.1", port: int = 8899, seed: int = 1, restaurants: int = 3, days: int = 120,
                webhook_url: str | None = None, echo=click.echo, *, group_sizes: list[int] | None = None,
                orders_per_day: float | None = None, account_limit: int | None = None) -> None:
    """Build the world, announce the credentials as one JSON line through ``echo``, and serve (threaded)."""
    webhooks = WebhookConfig(url=webhook_url) if webhook_url else None
    app = create_sandbox_app(seed=seed, restaurants=restaurants, days=days, webhooks=webhooks, live=True,
                             group_sizes=group_sizes, orders_per_day=orders_per_day,
                             rate_limits=RateLimitConfig(account_per_15_minutes=account_limit))
    sandbox = app.extensions["toast_sandbox"]
    credentials = sandbox.credentials(GROUP_CLIENT)
    echo(json.dumps({
        "base_url": f"http://{host}:{port}", "client_id": credentials["client_id"],
        "client_secret": credentials["client_secret"], "user_access_type": ACCESS_TYPE,
        "scopes": credentials["scopes"], "management_group_guid": sandbox.group_guid,
        "restaurant_guids": sandbox.restaurant_guids, "webhook_secret": sandbox.webhook_secret,
        "webhook_url": webhook_url, "admin_base_url": f"http://{host}:{port}/sandbox",
        "groups": sandbox.fleet_credentials(),
    }))
    # Clients register their webhook URLs while it runs, so the sender always runs.
    dispatcher = app.extensions.get("toast_sandbox_webhooks") or WebhookDispatcher(sandbox)
    app.extensions["toast_sandbox_webhooks"] = dispatcher
    dispatcher.start()
    try:
        run_simple(host, port, app, threaded=True, use_reloader=False)
    finally:
        dispatcher.stop()


def _group_sizes(ctx, param, value: str | None) -> list[int] | None:
    if not value:
        return None
    try:
        sizes = [int(part) for part in value.split(",")]
    except ValueError:
        raise click.BadParameter("give whole numbers separated by commas, e.g. 100,40,30,20,10") from None
    if min(sizes) < 1 or sum(sizes) > MAX_RESTAURANTS:
        raise click.BadParameter(f"every group needs at least 1 location, and all together at most {MAX_RESTAURANTS}")
    return sizes


@click.command("sandbox")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8899, show_default=True, type=click.IntRange(1, 65535))
@click.option("--seed", default=1, show_default=True, type=int, help="World seed (same seed, same world).")
@click.option("--restaurants", default=3, show_default=True, type=click.IntRange(1, MAX_RESTAURANTS),
              help="Locations (with --group-sizes: their sum, which is the default then).")
@click.option("--group-sizes", callback=_group_sizes, default=None,
              help="Split the locations into management groups of these sizes, each with its own API client "
                   "(e.g. 100,20,10,...).")
@click.option("--orders-per-day", type=click.FloatRange(0.1, 500), default=None,
              help="Orders per location on an average day (default about 53).")
@click.option("--days", default=120, show_default=True, type=click.IntRange(1, 730), help="Days of order history.")
@click.option("--account-limit", type=click.IntRange(1), default=None,
              help="Requests per 15 minutes per client over all its locations (Toast's undisclosed account "
                   "limit; off by default).")
@click.option("--webhook-url", default=None, help="Send order_updated webhooks of every location to this URL.")
@click.pass_context
def sandbox_command(ctx: click.Context, host: str, port: int, seed: int, restaurants: int,
                    group_sizes: list[int] | None, orders_per_day: float | None, days: int,
                    account_limit: int | None, webhook_url: str | None) -> None:
    """Serve a local Toast API sandbox (orders, menus, config, labor, restaurants, partners)."""
    if group_sizes:
        given = ctx.get_parameter_source("restaurants") != click.core.ParameterSource.DEFAULT
        if given and restaurants != sum(group_sizes):
            raise click.BadParameter(f"the group sizes add up to {sum(group_sizes)}, not {restaurants}",
                                     param_hint="--restaurants")
        restaurants = sum(group_sizes)
    run_sandbox(host=host, port=port, seed=seed, restaurants=restaurants, days=days, webhook_url=webhook_url,
                group_sizes=group_sizes, orders_per_day=orders_per_day, account_limit=account_limit)
