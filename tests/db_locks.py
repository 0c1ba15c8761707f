"""Another writer holding the database, and the portal giving up on it quickly: for the busy-database tests."""
import subprocess
import sys

from sqlalchemy import create_engine

from portal import create_app
from tests.conftest import IsolatedClient, test_config as config_for

# PostgreSQL's counterpart of SQLite's one write lock: writes to these tables wait, reads do not.
PG_WRITES_HELD = "users, organizations, guests, guest_tags, guest_notes, audit_events, orders"
# A second process holding SQLite's write lock until it reads a line.
SQLITE_HOLDER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
conn.execute("UPDATE organizations SET name = name")
print("held", flush=True)
sys.stdin.readline()
conn.execute("COMMIT")
"""


class WriteLockHolder:
    """Another process (SQLite) or connection (PostgreSQL) holding the write lock from ``hold()`` to ``release()``."""

    def __init__(self, database_url: str):
        self.database_url = database_url
        self.process = self.connection = self.engine = None

    def hold(self) -> "WriteLockHolder":
        if self.database_url.startswith("sqlite"):
            path = self.database_url.removeprefix("sqlite:///")
            self.process = subprocess.Popen([sys.executable, "-c", SQLITE_HOLDER, path], stdin=subprocess.PIPE,
                                            stdout=subprocess.PIPE, text=True)
            assert self.process.stdout.readline().strip() == "held"
        else:
            self.engine = create_engine(self.database_url)
            self.connection = self.engine.connect()
            self.connection.exec_driver_sql(f"LOCK TABLE {PG_WRITES_HELD} IN EXCLUSIVE MODE")
        return self

    @property
    def holding(self) -> bool:
        if self.process:
            return self.process.poll() is None
        return self.connection is not None and not self.connection.closed

    def release(self) -> None:
        if self.process:
            self.process.communicate("release\n", timeout=30)
            assert self.process.returncode == 0
        else:
            self.connection.rollback()
            self.connection.close()
            self.engine.dispose()


def impatient_portal(app, database_url: str):
    """The portal on the same database as ``app``, giving up on a held lock after a tenth of a second."""
    overrides = {**config_for(database_url), "PORTAL_ENCRYPTION_KEY": app.config["PORTAL_ENCRYPTION_KEY"]}
    if database_url.startswith("sqlite"):
        overrides["SQLITE_BUSY_TIMEOUT_S"] = 0.1
    else:
        overrides["SQLALCHEMY_ENGINE_OPTIONS"] = {"connect_args": {"options": "-c lock_timeout=100"}}
    impatient = create_app(overrides)
    impatient.test_client_class = IsolatedClient
    return impatient
