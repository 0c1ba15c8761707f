"""Issue 5: the Toast webhook endpoint under load from a second process, against gunicorn on loopback.

Sends --rate signed order_updated events per second for --seconds (open loop: a late response does not slow
the sender), then reports p50/p99 latency, errors, and events lost (answered 2xx but not stored).
Needs PostgreSQL and Redis (scripts/bench.sh starts both). Run: .venv/bin/python bench/webhook_load.py
"""
import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._common import percentile, report  # noqa: E402

SECRET, TOKEN, RESTAURANT = "bench-webhook-secret", "bench-token-" + "x" * 30, str(uuid.uuid4())


def prepare(database_url: str, key: str) -> None:
    """A fresh schema with one organization, connection and location that the events address."""
    from flask_migrate import upgrade
    from sqlalchemy import create_engine

    from portal import create_app
    from portal.crypto import encrypt
    from portal.extensions import db
    from portal.models import Location, Organization, ToastConnection

    if database_url.startswith("postgresql"):
        engine = create_engine(database_url)
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP SCHEMA public CASCADE")
            conn.exec_driver_sql("CREATE SCHEMA public")
        engine.dispose()
    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "PORTAL_ENCRYPTION_KEY": key,
                      "SQLALCHEMY_DATABASE_URI": database_url})
    with app.app_context():
        upgrade()
        org = Organization(name="Bench", slug="bench")
        db.session.add(org)
        db.session.flush()
        connection = ToastConnection(org_id=org.id, host="https://toast.invalid", client_id="bench",
                                     client_secret_enc=encrypt("x"), webhook_secret_enc=encrypt(SECRET),
                                     webhook_token=TOKEN)
        db.session.add(connection)
        db.session.flush()
        db.session.add(Location(org_id=org.id, connection_id=connection.id, guid=RESTAURANT, name="Bench"))
        db.session.commit()


def event_body(index: int) -> tuple[bytes, dict]:
    from portal.toast.signature import sign

    sample = json.loads((ROOT.parent / "shared/toast-samples/webhook-order_updated-example.json").read_text())
    sample["guid"] = str(uuid.uuid4())
    sample["details"]["restaurantGuid"] = RESTAURANT
    sample["details"]["order"]["guid"] = str(uuid.uuid4())
    body = json.dumps(sample).encode()
    return body, {"Content-Type": "application/json", "Toast-Signature": sign(SECRET, body, sample["timestamp"]),
                  "Toast-Attempt-Number": "1"}


def load(port: int, path: str, rate: int, seconds: int, results) -> None:
    """The second process: an open-loop sender at a fixed rate over keep-alive connections (http.client is
    lighter than a full client library, so the sender takes little CPU from the server on this machine)."""
    import http.client
    import queue
    import threading

    requests = [event_body(i) for i in range(rate * seconds)]
    schedule: queue.Queue = queue.Queue()
    measured = []

    def sender() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        while (item := schedule.get()) is not None:
            (body, headers), due = item
            try:
                connection.request("POST", path, body=body, headers=headers)
                response = connection.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                status = 0
            measured.append((status, time.perf_counter() - due))  # from when it was due: queueing counts

    threads = [threading.Thread(target=sender) for _ in range(32)]
    for thread in threads:
        thread.start()
    begin = time.perf_counter()
    for index, item in enumerate(requests):
        due = begin + index / rate
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        schedule.put((item, due))
    for _ in threads:
        schedule.put(None)
    for thread in threads:
        thread.join()
    results.extend(measured)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default=os.environ.get(
        "BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:54339/tablecloth_bench"))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6390/7"))
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--port", type=int, default=5077)
    args = parser.parse_args()
    from cryptography.fernet import Fernet

    key = Fernet.generate_key().decode()
    prepare(args.database_url, key)
    env = {**os.environ, "DATABASE_URL": args.database_url, "REDIS_URL": args.redis_url, "SECRET_KEY": "bench",
           "PORTAL_ENCRYPTION_KEY": key}
    server = subprocess.Popen([str(ROOT / ".venv/bin/gunicorn"), "--workers", "2", "--threads", "8", "--bind",
                               f"127.0.0.1:{args.port}", "--log-level", "warning", "wsgi:app"], cwd=ROOT, env=env)
    try:
        time.sleep(3)
        with multiprocessing.Manager() as manager:
            results = manager.list()
            sender = multiprocessing.Process(target=load, args=(
                args.port, f"/webhooks/toast/{TOKEN}", args.rate, args.seconds, results))
            sender.start()
            sender.join()
            results = list(results)
    finally:
        server.terminate()
        server.wait()
    summarize(results, args, env)


def summarize(results, args, env) -> None:
    from sqlalchemy import create_engine, text

    latencies = [latency * 1000 for status, latency in results]
    accepted = sum(1 for status, _ in results if status == 202)
    errors = sum(1 for status, _ in results if status != 202)
    engine = create_engine(args.database_url)
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT count(DISTINCT event_guid) FROM webhook_events")).scalar()
    print(f"{len(results)} signed events at {args.rate}/s for {args.seconds} s against gunicorn (2 workers x 8 threads)")
    report("p50 latency", f"{percentile(latencies, 0.50):.1f} ms", "-", True)
    report("p99 latency", f"{percentile(latencies, 0.99):.1f} ms", "< 100 ms", percentile(latencies, 0.99) < 100)
    report("errors", str(errors), "0", errors == 0)
    report("lost events (2xx but not stored)", str(accepted - stored), "0", accepted == stored)


if __name__ == "__main__":
    main()
