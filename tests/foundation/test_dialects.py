"""The per-database strategies: what each adds to the SQL, and the same answers from both bulk paths."""
from datetime import datetime, timezone

import numpy as np
from sqlalchemy import column, select

from portal.dialects import PostgreSQL, SQLite, dialect_of
from portal.extensions import db


def sql_of(statement, session) -> str:
    return str(statement.compile(bind=session.get_bind(), compile_kwargs={"literal_binds": True}))


def test_the_strategy_is_the_test_databases_own(session):
    assert dialect_of(session).name == session.get_bind().dialect.name
    assert dialect_of(session.connection()) is dialect_of(session)


def test_sqlite_keeps_non_selective_comparisons_and_groupings_off_their_indexes():
    figure, guest = column("visit_count"), column("guest_id")
    assert str(SQLite.non_selective(figure) > 3) == "(+ visit_count) > :param_1"
    assert str(select(SQLite.grouping_key(guest)).group_by(SQLite.grouping_key(guest))).endswith(
        "GROUP BY guest_id + 0")
    assert SQLite.full_scan_hint == " NOT INDEXED" and SQLite.sort_found_members_below > 0


def test_postgresql_adds_nothing_its_planner_weighs_by_itself():
    figure = column("visit_count")
    assert PostgreSQL.non_selective(figure) is figure and PostgreSQL.grouping_key(figure) is figure
    assert PostgreSQL.full_scan_hint == "" and PostgreSQL.sort_found_members_below == 0


def test_bulk_integer_reads_give_a_matrix_even_when_empty(session):
    dialect, connection = dialect_of(session), session.connection()
    sql = f"SELECT 7, {dialect.parameter('n')} UNION ALL SELECT 8, 9"
    assert dialect.read_integers(connection, sql, {"n": 5}, width=2).tolist() == [[7, 5], [8, 9]]
    empty = dialect.read_integers(connection, f"SELECT 1, 2 WHERE 1 = {dialect.parameter('n')}", {"n": 0}, width=2)
    assert empty.shape == (0, 2) and empty.dtype == np.int64


def test_month_labels_are_utc_on_both_databases(session):
    moment = datetime(2026, 1, 31, 23, 30, tzinfo=timezone.utc)
    label = db.session.scalar(select(dialect_of(session).month_label(column("at")))
                              .select_from(select(db.literal(moment, db.DateTime(timezone=True)).label("at"))
                                           .subquery()))
    assert label == "2026-01"
