"""SQLite connection settings: enforced foreign keys, WAL, a busy timeout, and writers that wait for the lock.

pysqlite's own transaction handling breaks SAVEPOINT (used by the test suite and by nested writes),
so the driver is put in autocommit mode and SQLAlchemy emits BEGIN itself (SQLAlchemy's documented recipe).

A deferred transaction that has read cannot wait for the write lock: in WAL mode its first write fails at once
with "database is locked" when another connection writes (SQLITE_BUSY, or SQLITE_BUSY_SNAPSHOT once that writer
committed), whatever the busy timeout. So a transaction begins deferred (readers never queue behind a writer, and
nothing holds the lock while it talks to Toast or opens a second connection, as the token store does) and becomes a
writer just before its first write or savepoint: its read snapshot ends (it wrote nothing) and ``BEGIN IMMEDIATE``
waits for the lock (``SQLITE_BUSY_TIMEOUT_S``). Reads before that point were not in the writer's snapshot, which is
what PostgreSQL's default isolation (read committed) gives every statement anyway; work whose writes depend on what
it reads takes the lock first (``take_write_lock``, through ``portal.dbutil.lock_organization``).

Writers queue for the lock in the kernel, not in SQLite's busy handler. That handler polls with sleeps growing to
100 ms, so a writer that commits and begins again at once (a webhook drain storing chunk after chunk) takes the
lock back before any sleeper wakes: a webhook receipt waited seconds behind a busy drain. So each connection of
ours first takes an exclusive ``flock`` on ``<database>.writers`` (``WriterQueueConnection``), which the kernel hands
to a waiter the moment the holder's transaction ends; the holder then takes SQLite's own lock at once. A connection
that writes again within WRITER_COURTESY_S of its last commit waits that long first: the woken waiter needs a moment
to run, and a drain asking again at once would take the lock back every time. Other programs writing the file
(sqlite3, a backup) still meet SQLite's lock and its busy timeout.
"""
import fcntl
import os
import sqlite3
import threading
import time

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

_READING = "portal_sqlite_reading"  # connection.info key: the open transaction is deferred and wrote nothing
# Statements that neither write nor open a savepoint (transaction control included: it is never a first write).
_NOT_WRITES = frozenset({"SELECT", "WITH", "VALUES", "PRAGMA", "EXPLAIN", "BEGIN", "COMMIT", "END", "ROLLBACK",
                         "RELEASE"})

_installed = False
WRITER_COURTESY_S = 0.002


def engine_options(config: dict) -> dict:
    """``SQLALCHEMY_ENGINE_OPTIONS`` for a SQLite database: the busy timeout (``SQLITE_BUSY_TIMEOUT_S``) and
    connections whose writers queue in the kernel."""
    options = dict(config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    if config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        options["connect_args"] = {**options.get("connect_args", {}), "timeout": config["SQLITE_BUSY_TIMEOUT_S"],
                                   "factory": WriterQueueConnection}
    return options


class WriterQueueConnection(sqlite3.Connection):
    """A sqlite3 connection that holds the database's writer queue lock (an exclusive ``flock`` on
    ``<database>.writers``) from just before ``BEGIN IMMEDIATE`` until its transaction ends."""

    def __init__(self, database, timeout: float = 5.0, *args, **kwargs):
        super().__init__(database, timeout, *args, **kwargs)
        self._wait_s = timeout
        name = os.fsdecode(database)
        # An in-memory database has no other connection to queue with.
        self._queue_path = None if name in ("", ":memory:") or name.startswith("file:") else name + ".writers"
        self._queue_fd: int | None = None
        self._queued = False
        self._left_at = float("-inf")

    def join_writers(self) -> None:
        """Wait (up to the busy timeout) until no other connection of ours writes; raises SQLite's own
        "database is locked" error when the wait runs out."""
        if self._queue_path is None or self._queued:
            return
        if self._queue_fd is None:
            self._queue_fd = os.open(self._queue_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        pause = self._left_at + WRITER_COURTESY_S - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        if not _flock(self._queue_fd, self._wait_s):
            busy = sqlite3.OperationalError("database is locked")
            busy.sqlite_errorcode, busy.sqlite_errorname = sqlite3.SQLITE_BUSY, "SQLITE_BUSY"
            raise busy
        self._queued = True

    def leave_writers(self) -> None:
        if self._queued:
            fcntl.flock(self._queue_fd, fcntl.LOCK_UN)
            self._queued, self._left_at = False, time.monotonic()

    def commit(self):
        try:
            super().commit()
        finally:
            if not self.in_transaction:  # a failed COMMIT leaves it open: the rollback that follows leaves
                self.leave_writers()

    def rollback(self):
        try:
            super().rollback()
        finally:
            if not self.in_transaction:
                self.leave_writers()

    def close(self):
        try:
            super().close()
        finally:
            if self._queue_fd is not None:
                os.close(self._queue_fd)  # releases the flock with it
                self._queue_fd, self._queued = None, False


def _flock(fd: int, timeout: float) -> bool:
    """An exclusive flock on ``fd`` within ``timeout`` seconds. The wait happens in the kernel, which wakes a
    waiter as soon as the lock is free (polling would leave it to whoever asks first); a helper thread waits on a
    duplicate of ``fd`` (the same open file, so the same lock) so that the wait can time out."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        pass
    waiter = _KernelWait(os.dup(fd))
    waiter.start()
    return waiter.result(timeout)


class _KernelWait(threading.Thread):
    """Blocks in ``flock`` on its own descriptor; a caller that stopped waiting leaves it to unlock at once."""

    def __init__(self, fd: int):
        super().__init__(name="sqlite-writer-queue", daemon=True)
        self._fd, self._taken, self._guard, self._abandoned = fd, threading.Event(), threading.Lock(), False

    def run(self) -> None:
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            with self._guard:
                if self._abandoned:
                    fcntl.flock(self._fd, fcntl.LOCK_UN)
                else:
                    self._taken.set()
        finally:
            os.close(self._fd)  # the lock belongs to the open file, which the caller's descriptor keeps

    def result(self, timeout: float) -> bool:
        if self._taken.wait(timeout):
            return True
        with self._guard:
            self._abandoned = not self._taken.is_set()
            return not self._abandoned


def install() -> None:
    global _installed
    if _installed:
        return
    event.listen(Engine, "connect", _on_connect)
    event.listen(Engine, "begin", _on_begin)
    event.listen(Engine, "before_cursor_execute", _before_cursor_execute)
    _installed = True


def take_write_lock(connection: Connection) -> None:
    """Make the connection's open transaction a writer now (waiting for the lock), so that what it reads from here
    on is what it writes over. Nothing to do on other databases, or once the transaction has written."""
    if connection.info.get(_READING):
        _become_writer(connection, connection.exec_driver_sql)  # errors come as SQLAlchemy's, like any statement's


def _on_connect(dbapi_connection, _record) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _on_begin(connection) -> None:
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN")
        connection.info[_READING] = True


def _before_cursor_execute(connection, cursor, statement, _parameters, context, _executemany) -> None:
    if connection.info.get(_READING) and _writes(statement, context):
        _become_writer(connection, cursor.connection.execute)


def _become_writer(connection, execute) -> None:
    execute("COMMIT")  # ends the read snapshot; the transaction wrote nothing
    dbapi_connection = connection.connection.driver_connection
    try:
        if isinstance(dbapi_connection, WriterQueueConnection):
            dbapi_connection.join_writers()
        execute("BEGIN IMMEDIATE")
    except Exception:
        execute("BEGIN")  # still in a transaction that has not written, as SQLAlchemy believes
        if isinstance(dbapi_connection, WriterQueueConnection):
            dbapi_connection.leave_writers()
        raise
    connection.info[_READING] = False


def _writes(statement: str, context) -> bool:
    """Whether the statement writes (or opens a savepoint, which the writes inside it need to be immediate)."""
    if context is not None and (context.isinsert or context.isupdate or context.isdelete):
        return True  # also a DML statement led by WITH
    words = statement.split(None, 1)
    return bool(words) and words[0].upper() not in _NOT_WRITES
