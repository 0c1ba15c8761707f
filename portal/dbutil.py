"""Statements that differ between SQLite and PostgreSQL, behind one function each."""
from sqlalchemy.dialects import postgresql, sqlite

from portal.extensions import db


def insert_unless_exists(model, values: dict, conflict_columns: list[str]) -> int | None:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING id: the new id, or None when the row already existed.

    One round trip, no savepoint: the dedupe of hot paths (webhooks) costs nothing extra.
    """
    dialect = sqlite if db.session.get_bind().dialect.name == "sqlite" else postgresql
    statement = (
        dialect.insert(model).values(**values).on_conflict_do_nothing(index_elements=conflict_columns)
        .returning(model.id)
    )
    return db.session.execute(statement).scalar()
