"""The one way a view applies a change a person asked for: commit it whole, or roll it back whole."""
from collections.abc import Callable
from typing import TypeVar

from portal.errors import InputError
from portal.extensions import db

T = TypeVar("T")


def commit_or_error(change: Callable[[], T]) -> tuple[T | None, str | None]:
    """Run ``change()`` and commit. If it raises InputError, roll back (no half-written row survives) and return
    the message to show instead: ``(result, None)`` or ``(None, message)``."""
    try:
        result = change()
    except InputError as exc:
        db.session.rollback()
        return None, str(exc)
    db.session.commit()
    return result, None
