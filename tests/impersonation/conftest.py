"""Support users, and "view as" started through the real tenant-list form."""
import pytest
from sqlalchemy import select

from portal.models import AuditEvent, Impersonation
from tests import factories

REASON = "TICKET-4242 menu sync question"


@pytest.fixture
def support(session):
    return factories.SupportUserFactory()


@pytest.fixture
def writer(session):
    """A support user granted changes in support sessions."""
    return factories.SupportUserFactory(can_write_as_support=True)


def start_view_as(web, org, reason=REASON, allow_changes=False):
    data = {"reason": reason, **({"allow_changes": "y"} if allow_changes else {})}
    return web.post(f"/support/tenants/{org.id}/view-as", data)


def view_as(web, user, org, allow_changes=False):
    """Sign ``user`` in and start viewing ``org``; returns the Impersonation row."""
    web.login(user)
    response = start_view_as(web, org, allow_changes=allow_changes)
    assert response.status_code == 303, response.get_data(as_text=True)
    return last(Impersonation)


def last(model, **filters):
    from portal.extensions import db

    stmt = select(model).filter_by(**filters).order_by(model.id.desc()).limit(1)
    return db.session.scalar(stmt)


def events(org, action=None) -> list[AuditEvent]:
    from portal.extensions import db

    stmt = select(AuditEvent).where(AuditEvent.org_id == org.id).order_by(AuditEvent.id)
    if action:
        stmt = stmt.where(AuditEvent.action == action)
    return list(db.session.scalars(stmt))
