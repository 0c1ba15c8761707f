"""SQL helpers on the session or connection they are given: prebuilt hot-path statements, the organization lock, busy errors. What
differs between SQLite and PostgreSQL comes from their strategies (portal.dialects)."""
import sqlite3
from functools import cache

from sqlalchemy import bindparam
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm.util import identity_key

from portal.dialects import dialect_of


def insert_unless_exists(connection, model, values: dict, conflict_columns: list[str]) -> int | None:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING id on ``connection`` (or session): the new id, or None when the
    row already existed.

    One round trip, no savepoint, one prebuilt statement: the dedupe of hot paths (webhooks) costs nothing extra.
    """
    statement = _insert_unless_exists(model, dialect_of(connection), tuple(conflict_columns))
    return connection.execute(statement, values).scalar()


@cache
def _insert_unless_exists(model, dialect, conflict_columns: tuple[str, ...]):
    return dialect.insert(model).on_conflict_do_nothing(index_elements=conflict_columns).returning(model.id)


@cache
def _upsert(model, dialect):
    statement = dialect.insert(model)
    keys = [column.name for column in model.__table__.primary_key]
    return statement.on_conflict_do_update(
        index_elements=keys,
        set_={column.name: statement.excluded[column.name] for column in model.__table__.c if column.name not in keys},
    )


def upsert(conn, model):
    """INSERT ... ON CONFLICT (primary key) DO UPDATE of every other column, for one row dict or many (the
    statement for the database of ``conn``, a connection or session)."""
    return _upsert(model, dialect_of(conn))


def expanding(name: str):
    """A list parameter of a prebuilt statement (``column.in_(expanding("ids"))``): one cached statement for
    lists of any length."""
    return bindparam(name, expanding=True)


def pipelined(conn):
    """Send the block's statements on ``conn`` without waiting for each answer where the database allows it
    (PostgreSQL's pipeline mode). Only for writes whose results are not read: an error surfaces at the latest when
    the block ends, as the same SQLAlchemy exception (IntegrityError...) the statement would raise."""
    return dialect_of(conn).pipelined(conn)


def expire_loaded(session, model, ids) -> None:
    """Objects of ``model`` the session holds whose rows a Core statement changed: reloaded on next access."""
    for row_id in ids:
        obj = session.identity_map.get(identity_key(model, row_id))
        if obj is not None:
            session.expire(obj)


def lock_organization(session, org_id: int) -> None:
    """Serialize the writers of one organization's guests until the transaction ends (commit or rollback).

    Two pages of orders of one organization stored at once would otherwise both resolve a new guest and insert it
    (a unique violation on ``guests``), or both insert the same order. Call it before the reads the writes depend
    on. PostgreSQL: a transaction-scoped advisory lock. SQLite: the transaction takes the database's write lock now.
    """
    connection = session.connection()
    dialect_of(connection).lock_organization(connection, org_id)


# PostgreSQL: lock_not_available, deadlock_detected, serialization_failure.
_PG_BUSY_STATES = frozenset({"55P03", "40P01", "40001"})
_SQLITE_BUSY_CODES = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})


def is_lock_error(exc: BaseException | None) -> bool:
    """Whether ``exc`` says the database was busy with another writer (worth retrying later, never a bug):
    SQLite's "database is locked" after the busy timeout, PostgreSQL's lock timeout, deadlock or serialization
    failure."""
    if not isinstance(exc, DBAPIError):
        return False
    original = exc.orig
    if isinstance(original, sqlite3.Error):
        return (getattr(original, "sqlite_errorcode", 0) & 0xFF) in _SQLITE_BUSY_CODES
    return getattr(original, "sqlstate", None) in _PG_BUSY_STATES


# Tables a migration makes for one database's own search index, outside the models: SQLite's FTS5 guest_search
# (and the shadow tables FTS5 keeps beside it).
INDEX_TABLES = ("guest_search",)


def declared_for(dialect_name: str):
    """Alembic ``include_object``: schema items declared for another database only (``.ddl_if(dialect=...)``, such
    as PostgreSQL's trigram indexes) are not expected on this one when models and database are compared, and the
    ``INDEX_TABLES`` are no model's."""

    def include(obj, name, type_, reflected, compare_to) -> bool:
        if type_ == "table" and reflected and compare_to is None and name.startswith(INDEX_TABLES):
            return False
        only_on = getattr(getattr(obj, "_ddl_if", None), "dialect", None)
        return type_ != "index" or only_on in (None, dialect_name)

    return include
