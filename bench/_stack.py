"""The running parts the end-to-end benches start and stop: Redis, a fresh database, the Toast sandbox, and the
Procfile's processes (its lines are read at run time, so a bench runs what production runs).

Everything a bench starts is a child process in a session of its own and is stopped by ``Stack.close`` (SIGTERM
to that process group, SIGKILL after a grace period). The benches touch the portal only through its public
surfaces: the CLI, HTTP and the tables in ``portal/models``.
"""
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = ROOT / ".venv/bin"
BENCH_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:54339/tablecloth_bench"


class BenchError(RuntimeError):
    """A part of the bench could not start; the message says which and where its log is."""


def procfile_command(name: str) -> str:
    """The command of one Procfile line (e.g. ``worker``), as written there."""
    for line in (ROOT / "Procfile").read_text().splitlines():
        key, _, command = line.partition(":")
        if key.strip() == name and command.strip():
            return command.strip()
    raise BenchError(f"the Procfile has no '{name}' line")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Stack:
    """Child processes of one bench run, with their logs under ``workdir``."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.processes: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, command: list[str] | str, env: dict, **popen) -> subprocess.Popen:
        """Start ``command`` (a string runs through bash, as a Procfile line does) logging to ``<name>.log``."""
        argv = ["bash", "-c", f"exec {command}"] if isinstance(command, str) else command
        log = open(self.workdir / f"{name}.log", "ab")  # noqa: SIM115 - the child keeps writing to it
        popen.setdefault("stdout", log)
        process = subprocess.Popen(argv, cwd=ROOT, env=env, stderr=log, start_new_session=True, **popen)
        self.processes.append((name, process))
        return process

    def log_path(self, name: str) -> Path:
        return self.workdir / f"{name}.log"

    def check_running(self) -> None:
        """BenchError naming the first process that has exited."""
        for name, process in self.processes:
            if process.poll() is not None:
                raise BenchError(f"{name} exited with status {process.returncode} (see {self.log_path(name)})")

    def close(self) -> None:
        for _, process in reversed(self.processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for _, process in reversed(self.processes):
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def redis_url(stack: Stack, given: str | None) -> str:
    """``given`` (emptied first: the bench owns that database), else a private Redis started for this run."""
    from redis import Redis
    from redis.exceptions import ConnectionError as RedisConnectionError

    if not given:
        port = free_port()
        stack.start("redis", ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                              "--appendonly", "no", "--dir", str(stack.workdir)], dict(os.environ))
        given = f"redis://127.0.0.1:{port}/0"
    client = Redis.from_url(given)
    for _ in range(100):
        try:
            client.flushdb()
            return given
        except RedisConnectionError:
            stack.check_running()
            time.sleep(0.1)
    raise BenchError(f"Redis at {given} does not answer")


def database_url(kind: str, workdir: Path) -> str:
    """A fresh database: SQLite under ``workdir`` (the default database) or the bench PostgreSQL cluster."""
    if kind == "sqlite":
        return f"sqlite:///{workdir / 'portal.sqlite3'}"
    url = os.environ.get("BENCH_POSTGRES_URL", BENCH_POSTGRES_URL)
    from sqlalchemy import create_engine
    from sqlalchemy.exc import OperationalError

    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP SCHEMA public CASCADE")
            conn.exec_driver_sql("CREATE SCHEMA public")
    except OperationalError:
        raise BenchError(f"PostgreSQL at {url} does not answer: start it with scripts/bench.sh, or set "
                         "BENCH_POSTGRES_URL") from None
    finally:
        engine.dispose()
    return url


def portal_env(database: str, redis: str, key: str, **settings) -> dict:
    """The environment of the portal's processes (and of its CLI) for this run."""
    return {**os.environ, "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}", "PYTHONPATH": str(ROOT),
            "FLASK_APP": "wsgi", "DATABASE_URL": database, "REDIS_URL": redis, "SECRET_KEY": "bench-secret-key",
            "PORTAL_ENCRYPTION_KEY": key, **{name: str(value) for name, value in settings.items()}}


def portal_app(env: dict):
    """The portal app in this process, configured as its processes are, with the schema migrated."""
    from flask_migrate import upgrade

    from portal import create_app
    from portal.config import from_env

    app = create_app({**from_env(env), "PORTAL_REQUIRE_SECRETS": False})
    with app.app_context(), open(os.devnull, "w") as quiet, contextlib.redirect_stderr(quiet):
        upgrade()  # alembic logs every migration
    return app


def connect(app, slug: str, name: str, base_url: str, credentials: dict, webhook_secret: str, *,
            sync: bool) -> dict:
    """``flask org create`` and ``flask toast connect`` (run in this process) for the locations ``credentials``
    reach; ``sync`` queues their configuration refresh and backfill. Returns the webhook URL it printed and the
    location ids."""
    from sqlalchemy import select

    from portal.extensions import db
    from portal.models import Location

    runner = app.test_cli_runner()
    created = runner.invoke(args=["org", "create", "--name", name, "--slug", slug])
    restaurants = [option for guid in credentials["restaurant_guids"] for option in ("--restaurant", guid)]
    connected = runner.invoke(args=["toast", "connect", "--org", slug, "--host", base_url, "--client-id",
                                    credentials["client_id"], "--webhook-secret", webhook_secret, *restaurants,
                                    "--sync" if sync else "--no-sync"], input=credentials["client_secret"] + "\n")
    for result in (created, connected):
        if result.exit_code != 0:
            raise BenchError(f"connecting {slug} failed: {result.output.strip() or result.exception!r}")
    printed = json.loads(connected.output.strip().splitlines()[-1])
    with app.app_context():
        rows = db.session.execute(select(Location.guid, Location.id)
                                  .where(Location.guid.in_(credentials["restaurant_guids"]))).all()
    return {"slug": slug, "webhook_url": printed["webhook_url"], "locations": dict(rows)}


def start_sandbox(stack: Stack, port: int, options: list[str]) -> dict:
    """``flask toast sandbox`` on ``port`` with ``options``; returns the JSON line it prints."""
    env = {**os.environ, "FLASK_APP": "wsgi", "PYTHONPATH": str(ROOT), "PORTAL_REQUIRE_SECRETS": "0"}
    process = stack.start("sandbox", [str(VENV_BIN / "flask"), "toast", "sandbox", "--port", str(port), *options],
                          env, stdout=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    if not line:
        raise BenchError(f"the Toast sandbox did not start (see {stack.log_path('sandbox')})")
    return json.loads(line)


def start_portal(stack: Stack, env: dict, port: int) -> dict:
    """The Procfile's ``web`` and ``worker`` lines with ``env``; waits until the web process answers.
    Returns the commands run."""
    commands = {"web": procfile_command("web"), "worker": procfile_command("worker")}
    stack.start("web", commands["web"], {**env, "PORT": str(port)})
    stack.start("worker", commands["worker"], env)
    wait_http(f"http://127.0.0.1:{port}/login", stack)
    warm_up(f"http://127.0.0.1:{port}/login")
    return commands


def warm_up(url: str, requests: int = 16) -> None:
    """Requests side by side, so that every web process has loaded its code and opened its database
    connection before anything is timed."""
    with httpx.Client(timeout=10) as http, ThreadPoolExecutor(requests) as pool:
        list(pool.map(lambda _: http.get(url), range(requests)))


def wait_http(url: str, stack: Stack, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stack.check_running()
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise BenchError(f"{url} did not answer within {timeout:.0f} s")


def shown_command(command: str) -> str:
    """A Procfile command as printed in a report (runs of spaces folded)."""
    return re.sub(r"\s+", " ", command)
