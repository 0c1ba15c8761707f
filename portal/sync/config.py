"""Daily configuration refresh of one location: restaurant info, dining options, revenue centers, menus, employees.

Upserts keyed by GUID; entities Toast no longer returns are archived, never deleted (old orders point at them).
"""
from dataclasses import dataclass

from sqlalchemy import select

from portal.extensions import db
from portal.models import DiningOption, Employee, Location, MenuItem, RevenueCenter
from portal.models.base import utcnow
from portal.toast.client import ToastClient
from portal.toast.models import to_cents


@dataclass(frozen=True)
class FetchedConfig:
    info: object
    dining: dict
    centers: dict
    staff: dict
    menus: tuple | None  # (items by GUID, publish time), or None when ours are current


def fetch_config(client: ToastClient, guid: str, menus_last_updated) -> FetchedConfig:
    """Everything a refresh needs from Toast, fetched before anything is written (callers hold no transaction
    while this runs). Raises ToastError."""
    info = client.restaurant(guid)
    dining = {o.guid: {"name": o.name or "", "behavior": o.behavior, "curbside": bool(o.curbside)}
              for o in client.dining_options(guid) if o.guid}
    centers = {r.guid: {"name": r.name or ""} for r in client.revenue_centers(guid) if r.guid}
    menus = _changed_menus(client, guid, menus_last_updated)
    staff = {e.guid: {"first_name": e.first_name, "chosen_name": e.chosen_name, "last_name": e.last_name,
                      "archived": bool(e.deleted)}
             for e in client.employees(guid) if e.guid}
    return FetchedConfig(info, dining, centers, staff, menus)


def apply_config(location: Location, fetched: FetchedConfig) -> dict[str, int]:
    """Write a fetched configuration; returns how many entities of each kind Toast returned (the caller commits)."""
    _apply_restaurant_info(location, fetched.info)
    counts = {
        "dining_options": _upsert(location, DiningOption, fetched.dining),
        "revenue_centers": _upsert(location, RevenueCenter, fetched.centers),
        "employees": _upsert(location, Employee, fetched.staff, archive_missing=False),
        "menu_items": -1,
    }
    if fetched.menus is not None:
        items, last_updated = fetched.menus
        counts["menu_items"] = _upsert(location, MenuItem, items)
        location.menus_last_updated = last_updated
    location.config_refreshed_at = utcnow()
    return counts


def _apply_restaurant_info(location: Location, info) -> None:
    general, place = info.general, info.location
    if general is not None:
        location.name = general.name or location.name
        location.location_name = general.location_name
        location.time_zone = general.time_zone
        location.closeout_hour = general.closeout_hour
        location.management_group_guid = general.management_group_guid
    if place is not None:
        parts = (place.address1, place.city, place.administrative_area or place.state_code, place.zip_code)
        location.address = ", ".join(p for p in parts if p) or None


def _changed_menus(client: ToastClient, guid: str, menus_last_updated):
    """Menu items by GUID and the publish time, or None when /metadata says ours are current (Toast's rule)."""
    metadata = client.menus_metadata(guid)
    if menus_last_updated and metadata.last_updated and metadata.last_updated <= menus_last_updated:
        return None
    menus = client.menus(guid)
    items = {}
    for _menu, path, item in menus.iter_items():
        if item.guid and item.guid not in items:
            items[item.guid] = {"name": item.name or "", "group_name": path[-1].name, "price_cents": to_cents(item.price)}
    return items, metadata.last_updated or menus.last_updated


def _upsert(location: Location, model, values_by_guid: dict[str, dict], *, archive_missing: bool = True) -> int:
    now = utcnow()
    rows = {row.guid: row for row in db.session.scalars(select(model).where(model.location_id == location.id))}
    for guid, values in values_by_guid.items():
        row = rows.get(guid)
        if row is None:
            row = model(org_id=location.org_id, location_id=location.id, guid=guid)
            db.session.add(row)
        values = {"archived": False, **values}
        for name, value in values.items():
            setattr(row, name, value)
        row.refreshed_at = now
    if archive_missing:
        for guid, row in rows.items():
            if guid not in values_by_guid:
                row.archived = True
    return len(values_by_guid)
