"""Connecting an organization to Toast: verify credentials, discover locations, connect the chosen ones."""
import re
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import select

from portal.audit import service as audit
from portal.crypto import encrypt
from portal.errors import ConflictError, InputError
from portal.extensions import db
from portal.models import CONNECTION_ACTIVE, Location, Organization, ToastConnection
from portal.models.base import utcnow
from portal.sync.clients import client_for, login
from portal.toast.auth import AccountKind
from portal.toast.errors import AuthError, ToastError

GUID_PATTERN = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
# ASCII host names only (Toast's are): no spaces, no look-alike or direction-override characters.
HOST_PATTERN = re.compile(r"^https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?/?$")

# The scopes a CRM needs, with what a missing one costs (shown to the owner).
CRM_SCOPES = {
    "orders:read": "no orders at all: nothing can be synced",
    "restaurants:read": "no location names, time zones or closeout hours",
    "config:read": "no dining options: delivery, takeout, curbside and dine-in counts stay empty",
    "menus:read": "no menu names: favorite items fall back to the name printed on the check",
    "labor:read": "no employee data: servers seen cannot be named",
    "labor.employees:read": "no employee list: servers seen cannot be named",
    "guest.pi:read": "no guest names, emails or phones: orders cannot become guest profiles",
    "delivery_info.address:read": "no delivery addresses on guest profiles",
}


@dataclass
class DiscoveredLocation:
    guid: str
    name: str
    address: str = ""
    connected_elsewhere: bool = False
    connected_here: bool = False


def normalize_host(raw: str) -> str:
    """The API base URL: https only, except plain http for a local sandbox. InputError otherwise."""
    value = (raw or "").strip().rstrip("/")
    if "://" not in value:
        value = "https://" + value
    if not HOST_PATTERN.match(value):
        raise InputError("the Toast API host must be an https:// URL, e.g. https://ws-api.toasttab.com")
    parts = urlsplit(value)
    local = parts.hostname in LOCAL_HOSTS
    if parts.scheme not in ("https", "http") or not parts.hostname or (parts.scheme == "http" and not local):
        raise InputError("the Toast API host must be an https:// URL, e.g. https://ws-api.toasttab.com")
    if parts.path or parts.query or parts.fragment:
        raise InputError("give the host only, without a path, e.g. https://ws-api.toasttab.com")
    return f"{parts.scheme}://{parts.netloc}"


def parse_guids(text: str) -> list[str]:
    """Location GUIDs typed by hand (commas, spaces or new lines between them). InputError on a bad one."""
    guids = [token for token in re.split(r"[\s,;]+", text or "") if token]
    bad = [guid for guid in guids if not GUID_PATTERN.match(guid)]
    if bad:
        raise InputError(f"not a Toast GUID: {bad[0][:40]}")
    return list(dict.fromkeys(guid.lower() for guid in guids))


def missing_scopes(connection: ToastConnection) -> dict[str, str]:
    return {scope: cost for scope, cost in CRM_SCOPES.items() if scope not in connection.scope_set}


def create_connection(
    org: Organization, *, host: str, client_id: str, client_secret: str, webhook_secret: str | None
) -> ToastConnection:
    """Store credentials (encrypted) once Toast accepted them; reads scopes and account kind from the token.

    Raises InputError when Toast refuses the credentials or cannot be reached. Nothing is written before.
    """
    client_id, client_secret = (client_id or "").strip(), (client_secret or "").strip()
    if not client_id or not client_secret:
        raise InputError("client ID and client secret are both required")
    host = normalize_host(host)
    connection = ToastConnection(
        org_id=org.id,
        host=host,
        client_id=client_id[:255],
        client_secret_enc=encrypt(client_secret),
        webhook_secret_enc=encrypt(webhook_secret.strip()) if webhook_secret and webhook_secret.strip() else None,
        webhook_token=secrets.token_urlsafe(32),
    )
    _apply_login(connection, client_secret)
    db.session.add(connection)
    db.session.flush()
    audit.record("credentials.changed", org_id=org.id, target=connection, details={"change": "connected"})
    return connection


def replace_secret(connection: ToastConnection, client_secret: str) -> None:
    """Reconnect with a new client secret. InputError when Toast refuses it (the old one stays stored)."""
    client_secret = (client_secret or "").strip()
    if not client_secret:
        raise InputError("enter the new client secret")
    _apply_login(connection, client_secret)
    connection.client_secret_enc = encrypt(client_secret)
    audit.record("credentials.changed", org_id=connection.org_id, target=connection, details={"change": "reconnected"})


def set_webhook_secret(connection: ToastConnection, webhook_secret: str) -> None:
    """Add or replace the secret Toast signs the connection's webhooks with. InputError when it is empty."""
    webhook_secret = (webhook_secret or "").strip()
    if not webhook_secret:
        raise InputError("enter the webhook secret Toast gave you")
    change = "webhook secret replaced" if connection.webhook_secret_enc else "webhook secret added"
    connection.webhook_secret_enc = encrypt(webhook_secret)
    audit.record("credentials.changed", org_id=connection.org_id, target=connection, details={"change": change})


def _apply_login(connection: ToastConnection, client_secret: str) -> None:
    """Sign in (token kept in memory until stored with the row) and record scopes and account kind."""
    try:
        token, sealed = login(connection.host, connection.client_id, client_secret)
    except AuthError as exc:
        raise InputError(f"Toast refused these credentials: {exc.reason}") from None
    except ToastError as exc:
        raise InputError(f"could not sign in to Toast at {connection.host}: {exc}") from None
    connection.token_enc = sealed
    connection.scopes = " ".join(sorted(token.scopes))
    connection.account_kind = str(token.account_kind)
    connection.account_guid = token.partner_guid or token.management_group_guid
    mark_active(connection)


def mark_active(connection: ToastConnection) -> None:
    if connection.status != CONNECTION_ACTIVE:
        connection.status_changed_at = utcnow()
    connection.status, connection.status_reason = CONNECTION_ACTIVE, None


def discover(connection: ToastConnection, typed_guids: list[str]) -> list[DiscoveredLocation]:
    """Locations these credentials reach: partners API, the management group, or the GUIDs typed by hand."""
    with client_for(connection) as client:
        found = _reachable(client, connection, typed_guids)
        owners = dict(db.session.execute(select(Location.guid, Location.org_id).where(Location.guid.in_(list(found)))).all())
        results = []
        for guid, name in found.items():
            if not name:
                name, address = _describe(client, guid)
            else:
                address = ""
            results.append(
                DiscoveredLocation(
                    guid=guid, name=name or guid, address=address,
                    connected_elsewhere=guid in owners and owners[guid] != connection.org_id,
                    connected_here=owners.get(guid) == connection.org_id,
                )
            )
    return sorted(results, key=lambda loc: loc.name.lower())


def _reachable(client, connection: ToastConnection, typed_guids: list[str]) -> dict[str, str]:
    if connection.account_kind == AccountKind.PARTNER:
        return {r.restaurant_guid: r.location_name or r.restaurant_name or "" for r in client.partner_restaurants()
                if r.restaurant_guid and not r.deleted}
    # A location already connected is as good as one typed: Toast lists the group from any of its locations.
    known = typed_guids or [location.guid for location in connection.locations]
    found = {guid: "" for guid in known}
    if connection.account_kind == AccountKind.MANAGEMENT_GROUP and connection.account_guid:
        try:
            refs = client.group_restaurants(connection.account_guid, location_guid=known[0] if known else None)
        except ToastError:
            if not known:
                raise InputError("Toast needs one location GUID of the group to list the others: type one") from None
            refs = []
        found.update({ref.guid.lower(): "" for ref in refs if ref.guid})
    return found


def _describe(client, guid: str) -> tuple[str, str]:
    try:
        info = client.restaurant(guid)
    except ToastError:
        return "", ""
    general, place = info.general, info.location
    name = (general.location_name or general.name) if general else ""
    address = ", ".join(p for p in (place.address1, place.city, place.administrative_area or place.state_code) if p) if place else ""
    return name or "", address


def connect_locations(connection: ToastConnection, guids: list[str], names: dict[str, str]) -> list[Location]:
    """Connect the chosen locations to the connection's organization.

    ConflictError when a location already belongs to another organization (which one is never said).
    """
    if not guids:
        raise InputError("choose at least one location")
    rows = {loc.guid: loc for loc in db.session.scalars(select(Location).where(Location.guid.in_(guids)))}
    taken = [guid for guid, row in rows.items() if row.org_id != connection.org_id]
    if taken:
        raise ConflictError(f"location {taken[0]} is already connected to another organization")
    connected = []
    for guid in guids:
        location = rows.get(guid) or Location(org_id=connection.org_id, guid=guid)
        location.connection_id, location.active = connection.id, True
        location.name = location.name or names.get(guid, "")
        db.session.add(location)
        connected.append(location)
    db.session.flush()
    audit.record("credentials.changed", org_id=connection.org_id, target=connection,
                 details={"change": "locations connected", "locations": len(connected)})
    return connected
