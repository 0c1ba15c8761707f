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
    """The organization this request acts for (set by resolve_current_org); 404 when there is none."""
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


def resolve_current_org(user) -> Organization | None:
    """The organization a signed-in user acts for.

    Members act for their own. Support staff act for none, except while viewing as an organization
    (portal.impersonation): then for that one, with ``current_user`` still the support user.
    """
    if user is None or not user.is_authenticated:
        return None
    if user.is_support:
        from portal.impersonation.guard import active_impersonation  # imported late: it needs the models loaded

        impersonation = active_impersonation(user)
        return impersonation.organization if impersonation is not None else None
    if user.org_id is None:
        return None
    return db.session.get(Organization, user.org_id)
