"""What SQLite and PostgreSQL do differently, behind one strategy per database.

``dialect_of(connection)`` (or of a session) picks the strategy once from the connection's dialect; callers ask it
for what they need and never test the database's name themselves. PostgreSQL is production: its strategy adds
nothing to the SQL (its planner weighs indexes by itself) and moves bulk data with COPY. SQLite is the embedded
development default: its planner has no histograms, so a few hints keep it off slow plans, bulk data goes through
the driver's cursor, and writers take the database's write lock (portal.sqlite).
"""
import io
from contextlib import contextmanager

import numpy as np
from sqlalchemy import func, literal_column, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.expression import UnaryExpression
from sqlalchemy.sql.operators import custom_op

from portal.sqlite import take_write_lock

# First key of the two-key advisory locks taken by lock_organization (the second is the organization's id), so they
# never collide with another kind of advisory lock.
ORGANIZATION_GUESTS_LOCK = 0x6775  # "gu"
_LOCK_ORGANIZATION = text("SELECT pg_advisory_xact_lock(:kind, :org_id)")
_LOCKED_ORGS = "portal_locked_orgs"  # connection.info key: (root transaction, org ids it holds the lock of)
FETCH_CHUNK = 50_000  # rows fetched at a time by a bulk read through the driver's cursor


class PostgreSQL:
    name = "postgresql"
    # Members of a segment are paged by walking the sort column's index: the planner weighs both ways by itself.
    sort_found_members_below = 0
    dates_as_text = False  # bulk rows carry datetime.date / datetime values
    releases_read_lock_early = False  # readers never block writers

    @staticmethod
    def insert(model):
        """The dialect's INSERT, which knows ON CONFLICT."""
        return postgresql.insert(model)

    # planner hints: none --------------------------------------------------------------------------------------

    @staticmethod
    def non_selective(column):
        return column

    @staticmethod
    def grouping_key(column):
        return column

    full_scan_hint = ""

    # SQL written out by hand: psycopg's parameter style ------------------------------------------------------

    day_number_sql = "((opened_at AT TIME ZONE 'UTC')::date - DATE '1970-01-01')"  # of a UTC timestamp column

    @staticmethod
    def parameter(name: str) -> str:
        return f"%({name})s"

    modulo = "%%"

    @staticmethod
    def timestamp_parameter(value):
        return value

    @staticmethod
    def contains(text: str, columns: list, _trigram_table, _id_column) -> list:
        """"One of ``columns`` contains ``text``", one term per column: LIKE, which pg_trgm's GIN indexes serve."""
        pattern = "%" + text.replace("/", "//").replace("%", "/%").replace("_", "/_") + "%"
        return [column.like(pattern, escape="/") for column in columns]

    @staticmethod
    def month_label(column):
        """'YYYY-MM' of a UTC timestamp column."""
        return func.to_char(func.timezone("UTC", column), "YYYY-MM")

    # bulk data -------------------------------------------------------------------------------------------------

    @staticmethod
    def read_integers(connection: Connection, sql: str, params: dict, width: int) -> np.ndarray:
        """The rows of ``sql`` (integers only) as an int64 matrix: COPY ... TO STDOUT parsed by numpy, no Python
        object per value."""
        buffer = io.BytesIO()
        with connection.connection.driver_connection.cursor() as cursor:
            with cursor.copy(f"COPY ({sql}) TO STDOUT", params) as copy:
                for block in copy:
                    buffer.write(block)
        if not buffer.getbuffer().nbytes:
            return np.zeros((0, width), dtype=np.int64)
        buffer.seek(0)
        return np.loadtxt(buffer, dtype=np.int64, delimiter="\t", ndmin=2)

    @staticmethod
    def write_rows(connection: Connection, table: str, columns: tuple[str, ...], types: tuple[str, ...],
                   rows: list[tuple]) -> None:
        """Binary COPY with the column types given, on the connection's own transaction: psycopg packs the values
        in C (5x faster than text COPY)."""
        with connection.connection.driver_connection.cursor() as cursor:
            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(list(types))
                for row in rows:
                    copy.write_row(row)

    @staticmethod
    @contextmanager
    def bulk_write_cache(_connection: Connection):
        yield  # the server's shared buffers serve

    @staticmethod
    def statement_transactions(connection: Connection) -> Connection:
        """Each statement its own transaction: a one-statement write costs one round trip, no BEGIN and no COMMIT
        (reset when the connection goes back to the pool)."""
        return connection.execution_options(isolation_level="AUTOCOMMIT")

    @staticmethod
    @contextmanager
    def pipelined(connection: Connection):
        """psycopg's pipeline mode: the server works while Python builds the next statement. An error surfaces at
        the latest when the block ends, as the same SQLAlchemy exception the statement would raise."""
        dbapi_error = connection.dialect.loaded_dbapi.Error
        try:
            with connection.connection.driver_connection.pipeline():
                yield
        except dbapi_error as exc:  # raised by the pipeline's sync, outside SQLAlchemy's execute
            raise DBAPIError.instance(None, None, exc, dbapi_error) from exc

    @staticmethod
    def lock_organization(connection: Connection, org_id: int) -> None:
        """A transaction-scoped advisory lock per organization, taken once per transaction."""
        transaction = connection.get_transaction()
        held_by, orgs = connection.info.get(_LOCKED_ORGS, (None, set()))
        if held_by is not transaction:
            orgs = set()
            connection.info[_LOCKED_ORGS] = (transaction, orgs)
        if org_id not in orgs:
            connection.execute(_LOCK_ORGANIZATION, {"kind": ORGANIZATION_GUESTS_LOCK, "org_id": org_id})
            orgs.add(org_id)


class SQLite:
    name = "sqlite"
    # Few members of a segment: find them through the rules' index, then sort them, rather than walk the sort
    # index past every other guest (SQLite picks the walk whenever it can).
    sort_found_members_below = 5_000
    dates_as_text = True  # raw bulk INSERTs bypass SQLAlchemy's types: dates go in as SQLite stores them
    # A long read (a model fit) ends its transaction before computing: it may hold the write lock (BEGIN IMMEDIATE)
    # that syncs would wait on.
    releases_read_lock_early = True

    @staticmethod
    def insert(model):
        return sqlite.insert(model)

    # planner hints ----------------------------------------------------------------------------------------------

    @staticmethod
    def non_selective(column):
        """``+column`` (a no-op unary plus): the same value, but SQLite will not use the column's own index for
        it. Without histograms it would walk that index and look up each row sooner than scan a covering index
        ten times cheaper per row; use it on comparisons not known to be selective."""
        return UnaryExpression(column, operator=custom_op("+"))

    @staticmethod
    def grouping_key(column):
        """``column + 0``: with table statistics SQLite would rather walk a primary key that starts with the
        column to group without sorting, reading every row; grouping by an expression keeps it on the WHERE's
        index."""
        return column + literal_column("0")

    full_scan_hint = " NOT INDEXED"  # one pass over the table beats an index lookup per row (5x at 1M guests)

    # SQL written out by hand: sqlite3's parameter style ------------------------------------------------------

    # julianday() of a midnight is an exact half, so the difference is a whole number of days.
    day_number_sql = "CAST(julianday(date(opened_at)) - 2440587.5 AS INTEGER)"

    @staticmethod
    def parameter(name: str) -> str:
        return f":{name}"

    modulo = "%"

    @staticmethod
    def contains(text: str, _columns: list, trigram_table, id_column) -> list:
        """"The row's text contains ``text``" through an FTS5 trigram table of those columns (rowid = the row's id;
        a quoted phrase of trigrams is a substring)."""
        phrase = '"' + text.replace('"', '""') + '"'
        matches = trigram_table.c[trigram_table.name].op("MATCH")(phrase)  # the table's own column: all of them
        return [id_column.in_(select(trigram_table.c.rowid).where(matches))]

    @staticmethod
    def timestamp_parameter(value):
        """A UTC timestamp as the text SQLAlchemy stores (and compares) on SQLite, for SQL written by hand."""
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")

    @staticmethod
    def month_label(column):
        return func.strftime("%Y-%m", column)  # UTC timestamps are stored as 'YYYY-MM-DD HH:MM:SS...' text

    # bulk data ----------------------------------------------------------------------------------------------------

    @staticmethod
    def read_integers(connection: Connection, sql: str, params: dict, width: int) -> np.ndarray:
        """The driver's tuples, a chunk at a time, into an int64 matrix."""
        cursor = connection.connection.driver_connection.cursor()
        try:
            cursor.execute(sql, params)
            parts = [np.array(rows, dtype=np.int64) for rows in iter(lambda: cursor.fetchmany(FETCH_CHUNK), [])]
        finally:
            cursor.close()
        return np.concatenate(parts) if parts else np.zeros((0, width), dtype=np.int64)

    @staticmethod
    def write_rows(connection: Connection, table: str, columns: tuple[str, ...], _types: tuple[str, ...],
                   rows: list[tuple]) -> None:
        """An executemany of one prepared INSERT."""
        marks = ", ".join("?" * len(columns))
        connection.exec_driver_sql(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)

    @staticmethod
    @contextmanager
    def bulk_write_cache(connection: Connection, kib: int = 256 * 1024):
        """A larger page cache while a table's indexes are rewritten in bulk (2x faster at a million rows; the
        default 2 MB makes every index insert a page read), then the connection's own again."""
        previous = connection.exec_driver_sql("PRAGMA cache_size").scalar()
        connection.exec_driver_sql(f"PRAGMA cache_size=-{int(kib)}")
        try:
            yield
        finally:
            connection.exec_driver_sql(f"PRAGMA cache_size={int(previous)}")

    @staticmethod
    def statement_transactions(connection: Connection) -> Connection:
        # No round trips to save, and a writer must begin (BEGIN IMMEDIATE, in the writer queue) and commit.
        return connection

    @staticmethod
    @contextmanager
    def pipelined(_connection: Connection):
        yield  # no round trips to save

    @staticmethod
    def lock_organization(connection: Connection, _org_id: int) -> None:
        """The database's write lock, taken now: it serializes every writer anyway."""
        take_write_lock(connection)


_STRATEGIES = {strategy.name: strategy for strategy in (PostgreSQL, SQLite)}


def dialect_of(bind) -> type[PostgreSQL] | type[SQLite]:
    """The strategy of a Connection, Engine or Session's database."""
    dialect = bind.get_bind().dialect if hasattr(bind, "get_bind") else bind.dialect
    return _STRATEGIES[dialect.name]
