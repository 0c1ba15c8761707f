"""The one way views reach tenant rows: everything is filtered by the current organization.

A row of another organization is a 404, never a 403 and never data.
"""
from typing import TypeVar

from flask import abort, g
from sqlalchemy import Select, select

from portal.extensions import db
from portal.models import Organization

M = TypeVar("M")


def current_org() -> Organization:
    """The organization this request acts for (set before each request by
    ``portal.impersonation.guard.resolve_current_org``); 404 when there is none."""
    org = g.get("current_org")
    if org is None:
        abort(404)
    return org


def scoped(model: type[M]) -> Select:
    """``select(model)`` limited to the current organization's rows."""
    return select(model).where(model.org_id == current_org().id)


def get_or_404(model: type[M], row_id) -> M:
    """The current organization's row with this primary key, or a 404."""
    row = db.session.scalar(scoped(model).where(model.id == row_id))
    if row is None:
        abort(404)
    return row

