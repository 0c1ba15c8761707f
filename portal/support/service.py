"""The platform-wide tenant list support staff start from."""
from sqlalchemy import func, or_, select

from portal.extensions import db
from portal.models import Organization, User


def tenant_rows(query: str = "") -> list[dict]:
    """Every organization with its member count, optionally filtered by name or slug."""
    members = (
        select(User.org_id, func.count(User.id).label("members"))
        .where(User.disabled_at.is_(None))
        .group_by(User.org_id)
        .subquery()
    )
    stmt = (
        select(Organization, func.coalesce(members.c.members, 0))
        .outerjoin(members, members.c.org_id == Organization.id)
        .order_by(Organization.name)
    )
    if query:
        pattern = f"%{query.lower()}%"
        stmt = stmt.where(or_(func.lower(Organization.name).like(pattern), Organization.slug.like(pattern)))
    return [{"org": org, "members": count} for org, count in db.session.execute(stmt)]
