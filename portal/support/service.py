"""The platform-wide tenant list support staff start from."""
from sqlalchemy import func, or_, select

from portal.extensions import db
from portal.models import Organization, ToastConnection, User
from portal.webhooks.failures import ConnectionFailures, connection_failures, failed_counts


def tenant_rows(query: str = "") -> list[dict]:
    """Every organization with its member count and its failed (given up) webhook events, optionally filtered by
    name or slug."""
    members = (
        select(User.org_id, func.count(User.id).label("members"))
        .where(User.disabled_at.is_(None))
        .group_by(User.org_id)
        .subquery()
    )
    failed = failed_counts()
    stmt = (
        select(Organization, func.coalesce(members.c.members, 0), func.coalesce(failed.c.failed, 0))
        .outerjoin(members, members.c.org_id == Organization.id)
        .outerjoin(failed, failed.c.org_id == Organization.id)
        .order_by(Organization.name)
    )
    if query:
        pattern = f"%{query.lower()}%"
        stmt = stmt.where(or_(func.lower(Organization.name).like(pattern), Organization.slug.like(pattern)))
    return [{"org": org, "members": count, "failed_webhooks": failures}
            for org, count, failures in db.session.execute(stmt)]


def webhook_failures(org_id: int) -> tuple[Organization, list[tuple[ToastConnection, ConnectionFailures]]] | None:
    """The organization and each of its Toast connections with their webhook events given up on; None if there
    is no such organization."""
    org = db.session.get(Organization, org_id)
    if org is None:
        return None
    connections = db.session.scalars(
        select(ToastConnection).where(ToastConnection.org_id == org.id).order_by(ToastConnection.id)).all()
    return org, [(connection, connection_failures(connection)) for connection in connections]
