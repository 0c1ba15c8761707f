"""Local time: each location's time zone (Toast's restaurant ``timeZone``, stored by the configuration refresh on
``Location.time_zone``) for the times of its orders, and the organization's for everything else (dashboards,
notes, audit): the zone most of its locations report, ties broken by name; UTC when none reports a valid one.
"""
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from portal.models import Location

UTC = ZoneInfo("UTC")


def zone_named(name: str | None) -> ZoneInfo:
    """The IANA zone of that name; UTC for none or an unknown name (never an error on a page)."""
    try:
        return ZoneInfo(name) if name else UTC
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


# The name of the organization's zone (parameter ``org``), as a subquery other statements can carry along.
ORG_ZONE_NAME = (
    select(Location.time_zone).where(Location.org_id == bindparam("org"), Location.time_zone.is_not(None))
    .group_by(Location.time_zone).order_by(func.count().desc(), Location.time_zone).limit(1).scalar_subquery()
)


def organization_zone(session: Session, org_id: int) -> ZoneInfo:
    """The organization's time zone: the one most of its locations report (ties: the first by name)."""
    return zone_named(session.scalar(select(ORG_ZONE_NAME), {"org": org_id}))


def location_zones(session: Session, org_id: int) -> dict[int, ZoneInfo]:
    """Location id -> its time zone (the organization's for a location that reports none)."""
    rows = session.execute(select(Location.id, Location.time_zone).where(Location.org_id == org_id)).all()
    fallback = organization_zone(session, org_id) if any(zone is None for _, zone in rows) else UTC
    return {location_id: zone_named(zone) if zone else fallback for location_id, zone in rows}
