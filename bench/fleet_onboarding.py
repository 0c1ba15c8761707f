"""Issue 16: a fleet of organizations onboarding at once, with webhooks for new orders arriving throughout.

Starts the Toast sandbox serving --locations locations in --orgs management groups of unequal sizes (the
largest --largest), Redis (--redis-url, $BENCH_REDIS_URL, else a private one), a fresh database (SQLite under
a temporary directory, or --database postgresql: $BENCH_POSTGRES_URL, the cluster scripts/bench.sh starts),
and the Procfile's web and worker lines as written there, with TOAST_HISTORY_SPACING_S=--spacing. Each
organization is created and connected with the CLI (``flask org create``, ``flask toast connect``, which queues
its configuration refresh and backfill) and registers its webhook URL with the sandbox, which then sends signed
order_updated events for the new orders the bench opens at --webhook-rate per second at random locations.

Prints, next to the issue's targets: the onboarding wall time against the floor Toast's limits allow for the
pages each location needed (locations in parallel: (pages - 1) x max(spacing, 1/5 s) per location, the account
cap per client; each organization from the moment its runs were queued), each organization's time against its
own floor, webhook receipt -> guest figures p50/p99 during the onboarding (and idle afterwards, as the
reference measured in the same run), and the orders lost, stale or doubled against the sandbox's.
Run: .venv/bin/python bench/fleet_onboarding.py --locations 6 --orgs 3 --largest 3 --spacing 0.2
"""
import argparse
import os
import random
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import _stack  # noqa: E402
from bench._common import percentile, reference_loop_ms, report  # noqa: E402
from bench._orders import compare, pending_events, receipts, sync_runs, with_figures  # noqa: E402

ORDERS_BULK_GAP_S = 1 / 5  # Toast: 5 ordersBulk calls per second per location
ACCOUNT_WINDOW_S = 900
WATCH_S = 0.2  # how often the tables are read for the webhook orders' figures (the latency's resolution)
SETTLE_S = 10  # a change older than this has had its webhook sent (the sandbox sends every second) and stored


def group_sizes(locations: int, orgs: int, largest: int) -> list[int]:
    """``largest`` locations for the first organization, the rest split unequally (falling sizes, at least 1)."""
    rest, others = locations - largest, orgs - 1
    if orgs < 1 or largest < 1 or rest < others or (others == 0 and rest):
        raise SystemExit(f"cannot split {locations} locations into {orgs} organizations with {largest} in the largest")
    weights = list(range(others, 0, -1))
    sizes = [1 + (rest - others) * weight // sum(weights) for weight in weights]
    for index in range(rest - sum(sizes)):
        sizes[index % others] += 1
    return [largest, *sizes]


class WebhookTraffic:
    """Opens new orders at random locations through the sandbox (which sends their webhooks) and watches the
    portal's tables for each order's receipt and for its guest figures."""

    def __init__(self, admin_url: str, locations: dict[str, int], engine, rate: float, seed: int):
        self.admin_url, self.locations, self.engine, self.rate = admin_url, locations, engine, rate
        self.rng = random.Random(seed)
        self.waiting: dict[str, float] = {}  # order GUID -> when it was opened
        self.latencies: list[float] = []
        self.backfilled_first = 0
        self.error: Exception | None = None
        self._stop = threading.Event()

    def run_in_background(self) -> threading.Thread:
        """``run`` in a thread; a failure lands in ``error``."""
        def target():
            try:
                self.run()
            except Exception as error:  # noqa: BLE001 - reported by the main thread
                self.error = error
        thread = threading.Thread(target=target, name="webhook-traffic", daemon=True)
        thread.start()
        return thread

    def run(self, seconds: float | None = None) -> None:
        """Open orders at the rate until ``stop`` (or for ``seconds``), watching as it goes."""
        self._stop.clear()
        started = next_order = time.monotonic()
        with httpx.Client(base_url=self.admin_url, timeout=10) as http:
            while not self._stop.is_set() and (seconds is None or time.monotonic() - started < seconds):
                while time.monotonic() >= next_order:
                    location = self.rng.choice(list(self.locations))
                    answer = http.post(f"/restaurants/{location}/orders", json={"channel": "takeout_online"})
                    answer.raise_for_status()
                    self.waiting[answer.json()["guid"]] = time.time()
                    next_order += 1 / self.rate
                self.watch()
                self._stop.wait(min(WATCH_S, max(0.0, next_order - time.monotonic())))

    def stop(self) -> None:
        self._stop.set()

    def watch(self) -> None:
        """Record the latency of every waiting order whose figures now count it."""
        waiting = list(self.waiting)
        with self.engine.connect() as conn:
            received = receipts(conn, waiting)
            counted = with_figures(conn, list(self.locations.values()), waiting)
        now = time.time()
        for guid in counted:
            del self.waiting[guid]
            if guid in received:
                self.latencies.append(now - received[guid])
            else:
                self.backfilled_first += 1  # stored by a backfill page before its webhook arrived

    def drain(self, timeout: float) -> int:
        """Watch until every opened order counts (or ``timeout``); returns how many never did."""
        deadline = time.monotonic() + timeout
        while self.waiting and time.monotonic() < deadline:
            time.sleep(WATCH_S)
            self.watch()
        return len(self.waiting)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--locations", type=int, default=200)
    parser.add_argument("--orgs", type=int, default=20)
    parser.add_argument("--largest", type=int, default=None, help="locations of the largest organization "
                                                                  "(default: half of them)")
    parser.add_argument("--orders-per-day", type=float, default=4, help="per location (keeps the ingest small)")
    parser.add_argument("--days", type=int, default=84, help="history to backfill (TOAST_BACKFILL_DAYS)")
    parser.add_argument("--spacing", type=float, default=30.0,
                        help="TOAST_HISTORY_SPACING_S, seconds (the floor binds only where the machine stores the "
                             "orders faster than the pacing lets them in: compare the orders/s printed)")
    parser.add_argument("--account-cap", type=int, default=10_000,
                        help="requests per 15 minutes per client over all its locations (the sandbox enforces it)")
    parser.add_argument("--webhook-rate", type=float, default=2.0, help="new orders per second, all locations")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL"))
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--timeout", type=float, default=1800, help="give up on the onboarding after this")
    args = parser.parse_args()
    if args.webhook_rate <= 0 or args.spacing < 0:
        parser.error("--webhook-rate must be positive and --spacing not negative")
    args.sizes = group_sizes(args.locations, args.orgs, args.largest or args.locations // 2)
    workdir = Path(tempfile.mkdtemp(prefix="fleet-onboarding-"))
    stack = _stack.Stack(workdir)
    try:
        run(args, stack)
    except _stack.BenchError as error:
        raise SystemExit(f"fleet_onboarding: {error}") from None
    finally:
        stack.close()


def run(args, stack: _stack.Stack) -> None:
    reference_before = reference_loop_ms()
    app, info, engine = start_everything(args, stack)
    orgs = connect_all(app, info)
    locations = {guid: location_id for org in orgs for guid, location_id in org["locations"].items()}
    traffic = WebhookTraffic(info["admin_base_url"], locations, engine, args.webhook_rate, args.seed)
    sender = traffic.run_in_background()
    runs = wait_for_onboarding(engine, stack, traffic, locations, args.timeout)
    traffic.stop()
    sender.join()
    never = traffic.drain(timeout=60)
    during, backfilled_first = traffic.latencies, traffic.backfilled_first
    traffic.latencies = []
    traffic.run(seconds=10)  # the reference: the same webhooks once the onboarding is over
    traffic.drain(timeout=30)
    summarize(args, orgs, runs, locations, info)
    summarize_webhooks(during, never, backfilled_first, traffic.latencies)
    compare_with_sandbox(engine, info, locations, args.days, min(run["created"] for run in runs))
    print(f"reference CPU loop: {reference_before:.0f} ms before, {reference_loop_ms():.0f} ms after "
          f"(the same work: this machine's speed, to compare runs); load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} cores")


def start_everything(args, stack: _stack.Stack):
    """Redis, the database, the sandbox fleet, and the Procfile's web and worker lines; returns the portal app
    (in this process, for the CLI), the sandbox's credentials and an engine on the database."""
    from cryptography.fernet import Fernet
    from sqlalchemy import create_engine

    web_port = _stack.free_port()
    redis = _stack.redis_url(stack, args.redis_url)
    database = _stack.database_url(args.database, stack.workdir)
    env = _stack.portal_env(database, redis, Fernet.generate_key().decode(), TOAST_HISTORY_SPACING_S=args.spacing,
                            TOAST_BACKFILL_DAYS=args.days, PORTAL_BASE_URL=f"http://127.0.0.1:{web_port}")
    app = _stack.portal_app(env)
    info = _stack.start_sandbox(stack, _stack.free_port(), [
        "--seed", str(args.seed), "--group-sizes", ",".join(map(str, args.sizes)), "--days", str(args.days + 7),
        "--orders-per-day", str(args.orders_per_day), "--account-limit", str(args.account_cap)])
    commands = _stack.start_portal(stack, env, web_port)
    print(f"{args.locations} locations in {args.orgs} organizations of {', '.join(map(str, args.sizes))}; "
          f"{args.days} days of history at {args.orders_per_day:g} orders per location and day; history spacing "
          f"{args.spacing:g} s; {args.database}; webhooks for {args.webhook_rate:g} new orders/s")
    print(f"worker: {_stack.shown_command(commands['worker'])}\nlogs: {stack.workdir}")
    return app, info, create_engine(database)


def connect_all(app, info: dict) -> list[dict]:
    """Each management group becomes an organization connected with ``flask toast connect`` (which queues its
    configuration refresh and backfill), and registers its webhook URL with the sandbox."""
    orgs = []
    for number, group in enumerate(info["groups"], start=1):
        org = _stack.connect(app, f"fleet-{number:03d}", group["group"], info["base_url"], group,
                             group["webhook_secret"], sync=True)
        httpx.put(f"{info['admin_base_url']}/clients/{group['client_id']}/webhook",
                  json={"url": org["webhook_url"]}, timeout=10).raise_for_status()
        orgs.append({**org, "guids": group["restaurant_guids"]})
    return orgs


def wait_for_onboarding(engine, stack: _stack.Stack, traffic: WebhookTraffic, locations: dict[str, int],
                        timeout: float) -> list[dict]:
    """Wait until every location's backfill run has finished; returns every run of this onboarding."""
    started, last_note = time.monotonic(), 0.0
    while True:
        stack.check_running()
        if traffic.error is not None:
            raise _stack.BenchError(f"the webhook traffic stopped: {traffic.error!r}")
        runs = sync_runs(engine)
        backfills = defaultdict(list)
        for run in runs:
            if run["kind"] == "backfill":
                backfills[run["location_id"]].append(run)
        done = [location for location in locations.values()
                if backfills[location] and all(run["finished"] for run in backfills[location])]
        elapsed = time.monotonic() - started
        if len(done) == len(locations):
            return runs
        if elapsed > timeout:
            raise _stack.BenchError(f"onboarding not finished after {timeout:.0f} s: {len(done)} of "
                                    f"{len(locations)} backfills done")
        if elapsed - last_note >= 15:
            last_note = elapsed
            pages = sum(run["pages"] for run in runs if run["kind"] == "backfill")
            print(f"  {elapsed:5.0f} s: {len(done)}/{len(locations)} backfills done, {pages} pages", flush=True)
        time.sleep(1)


def summarize(args, orgs: list[dict], runs: list[dict], locations: dict[str, int], info: dict) -> None:
    """Wall time and each organization's time (from when its first run was queued) against the floors."""
    gap = max(args.spacing, ORDERS_BULK_GAP_S)
    stats = httpx.get(f"{info['admin_base_url']}/stats", timeout=10).json()["locations"]
    pages = defaultdict(int)
    for run in runs:
        if run["kind"] == "backfill":
            pages[run["location_id"]] += run["pages"]
    timings = []
    for org in orgs:
        ids = {locations[guid] for guid in org["guids"]}
        mine = [run for run in runs if run["location_id"] in ids]
        calls = sum(stats.get(guid, {}).get("requests", 0) for guid in org["guids"])
        floor = max(max((pages[location] - 1) * gap for location in ids),
                    (max(calls, 1) - 1) // args.account_cap * ACCOUNT_WINDOW_S)
        start = min(run["created"] for run in mine)
        backfills = [run for run in mine if run["kind"] == "backfill"]
        began = min(run["started"] or run["finished"] for run in backfills)
        timings.append({"slug": org["slug"], "size": len(ids), "start": start, "began": began - start,
                        "took": max(run["finished"] for run in backfills) - start, "floor": floor})
    first = min(timing["start"] for timing in timings)
    wall = max(timing["start"] + timing["took"] for timing in timings) - first
    floor = max(timing["start"] - first + timing["floor"] for timing in timings)
    failed = sum(1 for run in runs if run["kind"] == "backfill" and run["status"] != "succeeded")
    stored = sum(run["orders"] for run in runs if run["kind"] == "backfill")
    print(f"backfills: {sum(pages.values())} pages and {stored} orders stored by their runs ({stored / wall:.0f} "
          f"orders/s over the wall time); the sandbox answered {sum(counts['ordersBulk'] for counts in stats.values())}"
          f" ordersBulk calls")
    report("onboarding wall / floor", f"{wall:.1f} s / {floor:.1f} s = {ratio(wall, floor)}", "<= 1.15x",
           wall <= 1.15 * floor)
    for timing in timings:
        print(f"  {timing['slug']} ({locations_text(timing['size'])}, queued at +{timing['start'] - first:.1f} s, "
              f"first backfill began {timing['began']:.1f} s later): {timing['took']:.1f} s / own floor "
              f"{timing['floor']:.1f} s = {ratio(timing['took'], timing['floor'])}")
    smallest = min(timings, key=lambda timing: (timing["size"], -timing["took"]))
    report(f"smallest organization ({locations_text(smallest['size'])}) / its floor",
           f"{smallest['took']:.1f} s / {smallest['floor']:.1f} s = {ratio(smallest['took'], smallest['floor'])}",
           "<= 1.5x", smallest["took"] <= 1.5 * smallest["floor"])
    refused = sum(counts["rateLimited"] for counts in stats.values())
    report("failed backfill runs", str(failed), "0", failed == 0)
    report("429 answers from the sandbox", str(refused), "0", refused == 0)


def locations_text(count: int) -> str:
    return f"{count} location{'s' if count != 1 else ''}"


def ratio(measured: float, floor: float) -> str:
    return f"{measured / floor:.2f}x" if floor > 0 else "n/a (floor 0)"


def summarize_webhooks(during: list[float], never: int, backfilled_first: int, idle: list[float]) -> None:
    if during:
        p50, p99 = percentile(during, 0.50), percentile(during, 0.99)
        report("webhook receipt -> guest figures during the onboarding",
               f"p50 {p50:.2f} s, p99 {p99:.2f} s over {len(during)} orders (seen within {WATCH_S:g} s)", "p99 < 5 s",
               p99 < 5)
    else:
        report("webhook receipt -> guest figures during the onboarding", "no webhook order measured", "p99 < 5 s",
               False)
    if idle:
        print(f"  reference, idle after the onboarding: p50 {percentile(idle, 0.50):.2f} s, "
              f"p99 {percentile(idle, 0.99):.2f} s over {len(idle)} orders")
    if backfilled_first:
        print(f"  ({backfilled_first} webhook orders reached the figures through a backfill page first)")
    report("webhook orders whose figures never updated (60 s after)", str(never), "0", never == 0)


def compare_with_sandbox(engine, info: dict, locations: dict[str, int], days: int, first_start: float) -> None:
    """Every location's stored orders against the sandbox's, once the webhook events are processed."""
    deadline = time.monotonic() + 120
    with engine.connect() as conn:
        while pending_events(conn) and time.monotonic() < deadline:
            time.sleep(0.5)
            conn.rollback()
    toast = {}
    with httpx.Client(base_url=info["admin_base_url"], timeout=60) as http:
        for guid, location_id in locations.items():
            index = http.get(f"/restaurants/{guid}/orders").json()
            toast[location_id] = {order["guid"]: order["modifiedDate"] for order in index["orders"]}
    # Backfill windows start when each location's backfill begins; a day's margin keeps clear of that edge.
    expected_from_ms = int((first_start - (days - 1) * 86_400) * 1000)
    with engine.connect() as conn:
        result = compare(conn, toast, expected_from_ms, int((time.time() - SETTLE_S) * 1000))
    print(f"orders: {result.expected} the sandbox holds in the backfill window, {result.stored} stored")
    report("orders lost / doubled", f"{result.lost} / {result.doubled}", "0 / 0",
           not (result.lost or result.doubled))
    report("orders stored in an older version than the sandbox's / unknown to it", f"{result.stale} / "
           f"{result.unknown}", "0 / 0", not (result.stale or result.unknown))


if __name__ == "__main__":
    main()
