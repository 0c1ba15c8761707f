"""Issues 5 and 16: a burst of Toast webhooks against the Procfile's processes, on SQLite and on PostgreSQL.

The Toast sandbox (in this process, Toast's rate limits on) serves --locations locations of one organization. The
bench opens the orders the burst is about, then a second process sends --events signed order_updated events at
--rate per second (open loop: a late answer does not slow the sender) to gunicorn run as the Procfile's web line:
new orders, newer versions of some of them, stale versions sent after the newer ones, and exact retries (the same
event again with Toast-Attempt-Number 2), while the Procfile's worker line drains them. Per database it prints
the answers that were not 2xx, receipt latency p50/p99, the time until the backlog is drained (every event
processed and every order stored in its newest version) against the floor Toast's per-location limits allow for
the order fetches (one per order, from its first event on, 20 requests per second per location in fixed
one-second windows), and events stored twice, orders lost, doubled or left in an older version.
Redis: --redis-url, $BENCH_REDIS_URL, else a private one; PostgreSQL: $BENCH_POSTGRES_URL (scripts/bench.sh).
Run: .venv/bin/python bench/webhook_load.py --events 200 --rate 50
"""
import argparse
import copy
import dataclasses
import math
import multiprocessing
import os
import random
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import _stack  # noqa: E402
from bench._common import percentile, reference_loop_ms, report  # noqa: E402

SHARES = {"newer": 0.05, "stale": 0.035, "retry": 0.05}  # of all events; the rest announce new orders
FETCHES_PER_SECOND = 20  # Toast's global limit per location
SETTLE_S = 10  # nothing pending and nothing moving for this long: what is missing stays missing


@dataclass(frozen=True)
class BurstEvent:
    """One request of the burst: signed bytes and what they are about."""
    body: bytes
    headers: dict
    event_guid: str
    order_guid: str
    location: str


def plan_events(sandbox, count: int, rng: random.Random) -> tuple[list[BurstEvent], dict]:
    """Open the orders and build the burst in sending order; also returns how many events of each kind."""
    extra = {kind: round(count * share) for kind, share in SHARES.items()}
    guids = sandbox.restaurant_guids
    opened = [(guids[index % len(guids)], sandbox.add_order(guids[index % len(guids)]))
              for index in range(count - sum(extra.values()))]
    first = {order: copy.deepcopy(sandbox.order(location, order)) for location, order in opened}
    sandbox.advance_time(seconds=1)  # the newer versions carry a later modifiedDate
    changed = rng.sample(opened, extra["newer"])
    for _, order in changed:
        sandbox.void_order(order)
    # Each event gets a place in the burst (0..1): a newer version after its order's first event, a stale one
    # after the newer, a retry after the event it repeats.
    burst = [(rng.uniform(0, 0.8), signed(sandbox, location, first[order])) for location, order in opened]
    position = {event.order_guid: key for key, event in burst}
    newer = {}
    for location, order in changed:
        newer[order] = position[order] + rng.uniform(0, 0.9 - position[order])
        burst.append((newer[order], signed(sandbox, location, sandbox.order(location, order))))
    for location, order in rng.sample(changed, min(extra["stale"], len(changed))):
        burst.append((newer[order] + rng.uniform(0, 1 - newer[order]), signed(sandbox, location, first[order])))
    for key, event in rng.sample(burst[:len(opened)], extra["retry"]):
        retry = dataclasses.replace(event, headers={**event.headers, "Toast-Attempt-Number": "2"})
        burst.append((key + rng.uniform(0, 1 - key), retry))
    burst.sort(key=lambda pair: pair[0])
    return [event for _, event in burst], {"new": len(opened), **extra}


def signed(sandbox, location: str, order: dict) -> BurstEvent:
    """The order_updated event Toast would send for this version of the order (PII stripped), signed."""
    from toast_sandbox.api_common import dumps
    from toast_sandbox.webhooks import order_updated_envelope
    from portal.toast.signature import sign

    envelope = order_updated_envelope(location, order, str(uuid.uuid4()), sandbox.now_ms)
    body = dumps(envelope)
    headers = {"Content-Type": "application/json", "Toast-Attempt-Number": "1",
               "Toast-Restaurant-External-ID": location,
               "Toast-Signature": sign(sandbox.webhook_secret, body, envelope["timestamp"])}
    return BurstEvent(body, headers, envelope["guid"], order["guid"], location)


def load(port: int, path: str, rate: int, requests: list, results) -> None:
    """The second process: an open-loop sender at a fixed rate over keep-alive connections (http.client is
    lighter than a full client library, so the sender takes little CPU from the server on this machine).
    Records (status, seconds from when the request was due to its answer, when it was due in epoch seconds)."""
    import http.client
    import queue

    schedule: queue.Queue = queue.Queue()
    measured = []

    def sender() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        while (item := schedule.get()) is not None:
            (body, headers), due, due_epoch = item
            try:
                connection.request("POST", path, body=body, headers=headers)
                response = connection.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                status = 0
            measured.append((status, time.perf_counter() - due, due_epoch))  # queueing counts

    threads = [threading.Thread(target=sender) for _ in range(32)]
    for thread in threads:
        thread.start()
    begin, begin_epoch = time.perf_counter(), time.time()
    for index, item in enumerate(requests):
        due = begin + index / rate
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        schedule.put((item, due, begin_epoch + index / rate))
    for _ in threads:
        schedule.put(None)
    for thread in threads:
        thread.join()
    results.extend(measured)


def fetch_floor(arrivals: dict[str, list[float]], start: float) -> float:
    """Seconds from ``start`` until the last order fetch could be answered: per location, each order fetched no
    earlier than its first event, at most FETCHES_PER_SECOND in each one-second window (Toast's fixed windows)."""
    last = start
    for times in arrivals.values():
        used: dict[int, int] = defaultdict(int)
        for arrival in sorted(times):
            moment = arrival
            while used[math.floor(moment)] >= FETCHES_PER_SECOND:
                moment = math.floor(moment) + 1.0
            used[math.floor(moment)] += 1
            last = max(last, moment)
    return last - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--rate", type=int, default=200, help="events per second")
    parser.add_argument("--locations", type=int, default=3)
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL"))
    parser.add_argument("--drain-timeout", type=float, default=600, help="seconds to wait for the backlog")
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    kinds = ("sqlite", "postgresql") if args.database == "both" else (args.database,)
    for kind in kinds:
        stack = _stack.Stack(Path(tempfile.mkdtemp(prefix=f"webhook-load-{kind}-")))
        try:
            run(args, kind, stack)
        except _stack.BenchError as error:
            raise SystemExit(f"webhook_load: {error}") from None
        finally:
            stack.close()


def run(args, kind: str, stack: _stack.Stack) -> None:
    from cryptography.fernet import Fernet
    from sqlalchemy import create_engine
    from werkzeug.serving import make_server

    from toast_sandbox import create_sandbox_app

    reference = reference_loop_ms()
    sandbox_app = create_sandbox_app(seed=args.seed, restaurants=args.locations, days=7)
    sandbox = sandbox_app.extensions["toast_sandbox"]
    toast_server = make_server("127.0.0.1", _stack.free_port(), sandbox_app, threaded=True)
    threading.Thread(target=toast_server.serve_forever, name="toast-sandbox", daemon=True).start()
    try:
        web_port = _stack.free_port()
        database = _stack.database_url(kind, stack.workdir)
        env = _stack.portal_env(database, _stack.redis_url(stack, args.redis_url), Fernet.generate_key().decode(),
                                PORTAL_BASE_URL=f"http://127.0.0.1:{web_port}")
        app = _stack.portal_app(env)
        org = _stack.connect(app, "burst", "Burst", f"http://127.0.0.1:{toast_server.port}", sandbox.credentials(),
                             sandbox.webhook_secret, sync=False)
        burst, kinds = plan_events(sandbox, args.events, random.Random(args.seed))
        commands = _stack.start_portal(stack, env, web_port)
        print(f"== {kind}: {len(burst)} signed events at {args.rate}/s over {args.locations} locations "
              f"({', '.join(f'{n} {name}' for name, n in kinds.items())}); logs {stack.workdir}")
        print(f"web: {_stack.shown_command(commands['web'])}\nworker: {_stack.shown_command(commands['worker'])}")
        newest = newest_versions(sandbox, org, burst)
        results = send(web_port, org["webhook_url"], args.rate, burst)
        engine = create_engine(database)
        drained, comparison = wait_drained(engine, newest, args.drain_timeout)
        summarize(results, burst, drained, comparison, engine, sandbox_app, reference)
    finally:
        toast_server.shutdown()


def send(port: int, url: str, rate: int, burst: list[BurstEvent]) -> list:
    """The burst from a second process; returns (status, latency s, due epoch s) per request, in answer order."""
    path = "/" + url.split("/", 3)[3]
    with multiprocessing.Manager() as manager:
        results = manager.list()
        requests = [(event.body, event.headers) for event in burst]
        sender = multiprocessing.Process(target=load, args=(port, path, rate, requests, results))
        sender.start()
        sender.join()
        return list(results)


def newest_versions(sandbox, org: dict, burst: list[BurstEvent]) -> dict[int, dict[str, int]]:
    """location id -> {order GUID: modifiedDate ms} of the sandbox's current version of every order of the burst."""
    from toast_sandbox.randomness import to_ms
    from portal.toast.timefmt import parse_toast_ts

    newest: dict[int, dict[str, int]] = defaultdict(dict)
    for event in burst:
        order = sandbox.order(event.location, event.order_guid)
        newest[org["locations"][event.location]][event.order_guid] = to_ms(parse_toast_ts(order["modifiedDate"]))
    return newest


def wait_drained(engine, newest: dict[int, dict[str, int]], timeout: float):
    """Poll until no event is pending and every order of the burst is stored in its newest version. Returns (epoch
    seconds when first seen so, or None when it never was: after ``timeout``, or once nothing is pending and
    nothing has moved for SETTLE_S; the last comparison)."""
    from bench._orders import compare, pending_events

    deadline, last, moved = time.monotonic() + timeout, None, time.monotonic()
    while True:
        with engine.connect() as conn:
            pending = pending_events(conn)
            comparison = compare(conn, newest, 0, math.inf)
        if not pending and not comparison.lost and not comparison.stale:
            return time.time(), comparison
        state = (pending, comparison.lost, comparison.stale)
        if state != last:
            last, moved = state, time.monotonic()
        if time.monotonic() > deadline or (not pending and time.monotonic() - moved > SETTLE_S):
            return None, comparison
        time.sleep(0.2)


def summarize(results: list, burst: list[BurstEvent], drained: float | None, comparison, engine, sandbox_app,
              reference: float) -> None:
    from sqlalchemy import func, select

    from portal.models import WebhookEvent

    latencies = [latency * 1000 for _, latency, _ in results]
    not_2xx = sum(1 for status, _, _ in results if not 200 <= status < 300)
    start = min(due for _, _, due in results)
    arrivals: dict[str, dict[str, float]] = defaultdict(dict)
    # Answers come back in any order; due times grow with the sending order, so sorted they line up with the burst.
    for event, due in zip(burst, sorted(due for _, _, due in results)):
        arrivals[event.location].setdefault(event.order_guid, due)  # each order is fetched once, from its first event
    floor = fetch_floor({location: list(orders.values()) for location, orders in arrivals.items()}, start)
    with engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(WebhookEvent)).scalar()
    sent = len({event.event_guid for event in burst})
    counts = sandbox_app.extensions["toast_sandbox_counts"].snapshot().values()
    report("answers not 2xx", str(not_2xx), "0", not_2xx == 0)
    report("receipt p50 / p99", f"{percentile(latencies, 0.5):.1f} / {percentile(latencies, 0.99):.1f} ms",
           "p99 < 100 ms", percentile(latencies, 0.99) < 100)
    if drained is None:
        report("backlog drained / floor of the order fetches", f"not drained ({comparison.lost} orders missing, "
               f"{comparison.stale} stale)", "<= 1.3x", False)
    else:
        took = drained - start
        report("backlog drained / floor of the order fetches", f"{took:.1f} s / {floor:.1f} s = "
               f"{took / floor:.2f}x", "<= 1.3x", took <= 1.3 * floor)
    report("events stored / distinct events sent", f"{stored} / {sent}", "equal", stored == sent)
    report("orders lost / doubled / left in an older version", f"{comparison.lost} / {comparison.doubled} / "
           f"{comparison.stale}", "0 / 0 / 0", not (comparison.lost or comparison.doubled or comparison.stale))
    print(f"order fetches: {sum(item['requests'] for item in counts)} requests to the sandbox, "
          f"{sum(item['rateLimited'] for item in counts)} answered 429; reference CPU loop {reference:.0f} ms "
          f"before, {reference_loop_ms():.0f} ms after")


if __name__ == "__main__":
    main()
