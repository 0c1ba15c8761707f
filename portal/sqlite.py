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
"""
import sqlite3

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

_READING = "portal_sqlite_reading"  # connection.info key: the open transaction is deferred and wrote nothing
# Statements that neither write nor open a savepoint (transaction control included: it is never a first write).
_NOT_WRITES = frozenset({"SELECT", "WITH", "VALUES", "PRAGMA", "EXPLAIN", "BEGIN", "COMMIT", "END", "ROLLBACK",
                         "RELEASE"})

_installed = False


def engine_options(config: dict) -> dict:
    """``SQLALCHEMY_ENGINE_OPTIONS`` with the busy timeout (``SQLITE_BUSY_TIMEOUT_S``) for a SQLite database."""
    options = dict(config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    if config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        options["connect_args"] = {**options.get("connect_args", {}), "timeout": config["SQLITE_BUSY_TIMEOUT_S"]}
    return options


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
    try:
        execute("BEGIN IMMEDIATE")
    except Exception:
        execute("BEGIN")  # still in a transaction that has not written, as SQLAlchemy believes
        raise
    connection.info[_READING] = False


def _writes(statement: str, context) -> bool:
    """Whether the statement writes (or opens a savepoint, which the writes inside it need to be immediate)."""
    if context is not None and (context.isinsert or context.isupdate or context.isdelete):
        return True  # also a DML statement led by WITH
    words = statement.split(None, 1)
    return bool(words) and words[0].upper() not in _NOT_WRITES
