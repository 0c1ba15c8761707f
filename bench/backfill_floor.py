"""Issues 5 and 16: a full 12-week backfill with ``flask toast sync --inline`` (the scheduler the workers use, run
inside the command), wall time against the floor the limits impose.

The sandbox runs in its own process (``flask toast sandbox``) with Toast's rate limits on; the command paces
through Redis as the workers do (--redis-url, $BENCH_REDIS_URL, else a private Redis). The floor for N ordersBulk
calls of a location is (N - 1) x max(spacing, 1/5 s): Toast asks for spacing between history calls and allows 5
ordersBulk calls per second per location; with --locations above 1 they go side by side, so the floor is the
largest location's. Run: .venv/bin/python bench/backfill_floor.py [--spacing 0.25] [--locations 3]
"""
import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import _stack  # noqa: E402
from bench._common import report  # noqa: E402
from bench._orders import sync_runs  # noqa: E402

ORDERS_BULK_GAP_S = 1 / 5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spacing", type=float, default=0.25, help="seconds between history calls")
    parser.add_argument("--days", type=int, default=84)
    parser.add_argument("--locations", type=int, default=1)
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL"))
    args = parser.parse_args()
    stack = _stack.Stack(Path(tempfile.mkdtemp(prefix="backfill-floor-")))
    try:
        run(args, stack)
    except _stack.BenchError as error:
        raise SystemExit(f"backfill_floor: {error}") from None
    finally:
        stack.close()


def run(args, stack: _stack.Stack) -> None:
    from cryptography.fernet import Fernet
    from sqlalchemy import create_engine

    env = _stack.portal_env(_stack.database_url("sqlite", stack.workdir), _stack.redis_url(stack, args.redis_url),
                            Fernet.generate_key().decode(), TOAST_HISTORY_SPACING_S=args.spacing,
                            TOAST_BACKFILL_DAYS=args.days)
    app = _stack.portal_app(env)
    info = _stack.start_sandbox(stack, _stack.free_port(), ["--restaurants", str(args.locations), "--seed", "21",
                                                            "--days", str(args.days + 7)])
    _stack.connect(app, "bench", "Bench", info["base_url"], info["groups"][0], info["webhook_secret"], sync=False)
    command = subprocess.run([str(_stack.VENV_BIN / "flask"), "toast", "sync", "--org", "bench", "--inline"],
                             cwd=_stack.ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if command.returncode != 0:
        raise _stack.BenchError(f"flask toast sync --inline failed: {command.stderr.strip().splitlines()[-1:]}")
    # From the first page to the last: the command's start-up and configuration refresh are not the backfill's.
    backfills = [run for run in sync_runs(create_engine(env["DATABASE_URL"])) if run["kind"] == "backfill"]
    wall = max(run["finished"] for run in backfills) - min(run["started"] for run in backfills)
    stats = httpx.get(f"{info['admin_base_url']}/stats", timeout=10).json()["locations"]
    calls = [stats.get(guid, {}).get("ordersBulk", 0) for guid in info["restaurant_guids"]]
    refused = sum(counts["rateLimited"] for counts in stats.values())
    floor = (max(calls) - 1) * max(args.spacing, ORDERS_BULK_GAP_S)
    print(f"backfill of {args.days} days at {args.locations} location(s) with flask toast sync --inline: "
          f"{sum(calls)} ordersBulk calls, the most at one location {max(calls)}")
    report("wall time / floor", f"{wall:.1f} s / {floor:.1f} s = {wall / floor:.3f}x", "<= 1.15x", wall / floor <= 1.15)
    report("429 responses received", str(refused), "0", refused == 0)


if __name__ == "__main__":
    main()
