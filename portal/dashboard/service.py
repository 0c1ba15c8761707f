"""Figures for the dashboard of one organization."""
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import User


def member_count(org_id: int) -> int:
    """Active users of the organization."""
    return db.session.scalar(select(func.count(User.id)).where(User.org_id == org_id, User.disabled_at.is_(None)))
