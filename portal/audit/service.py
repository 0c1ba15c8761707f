"""The audit trail: recording events for an organization and reading them back for its owners."""
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import Select, select

from portal.audit.context import request_actor, request_fields
from portal.extensions import db
from portal.models import (AUDIT_ACTIONS, AudienceDestination, AuditEvent, Organization, Segment, ToastConnection,
                           User)

PER_PAGE = 25
MAX_PAGE = 10_000
MAX_TEXT = 200
# Keys that would name or reach a guest. Details hold ids, counts and codes; these are refused outright.
PII_KEYS = frozenset({
    "email", "phone", "name", "first_name", "last_name", "address", "birthday", "birth_date",
    "guest_email", "guest_phone", "guest_name",
})
_SCALARS = (str, int, float, bool, type(None))


def record(action: str, *, org_id: int, target=None, details: dict | None = None, actor: User | None = None,
           impersonation_id: int | None = None) -> AuditEvent:
    """Add an audit event to the session; the caller's commit stores it together with the change it describes.

    ``target`` is a model row (its class name and id are kept) or a ``(type, id)`` pair. The actor and the
    request columns come from the current request when there is one, else from ``actor`` (CLI, jobs).
    Raises ValueError for a missing org_id or for details that are not ids, counts and short codes.
    """
    if not org_id:
        raise ValueError("an audit event belongs to an organization")
    fields = request_fields()
    if impersonation_id is not None:
        fields["impersonation_id"] = impersonation_id
    actor = request_actor() or actor
    target_type, target_id = _target(target)
    event = AuditEvent(
        org_id=org_id, action=action, target_type=target_type, target_id=target_id,
        details=_checked_details(details or {}), actor_user_id=actor.id if actor else None,
        actor_email=actor.email if actor else None, **fields,
    )
    db.session.add(event)
    return event


def _target(target) -> tuple[str | None, str | None]:
    if target is None:
        return None, None
    if isinstance(target, tuple):
        kind, row_id = target
        return str(kind)[:32], str(row_id)[:64]
    # current_user is a proxy: its row's class names the target, not the proxy's ("localproxy #2").
    target = target._get_current_object() if hasattr(target, "_get_current_object") else target
    return type(target).__name__.lower()[:32], str(target.id)[:64]


def _checked_details(details: dict) -> dict:
    """A copy of ``details`` limited to scalars and lists of scalars; ValueError on PII keys or other values."""
    checked = {}
    for key, value in details.items():
        if not isinstance(key, str) or key.lower() in PII_KEYS:
            raise ValueError(f"audit details may not carry {key!r}")
        values = value if isinstance(value, (list, tuple)) else [value]
        if not all(isinstance(item, _SCALARS) for item in values):
            raise ValueError(f"audit detail {key!r} must be scalars (ids, counts, codes)")
        if any(isinstance(item, str) and len(item) > MAX_TEXT for item in values):
            raise ValueError(f"audit detail {key!r} is longer than {MAX_TEXT} characters")
        checked[key] = list(value) if isinstance(value, (list, tuple)) else value
    return checked


def events_page(stmt: Select, *, action: str | None, page: int) -> Pagination:
    """One page of the events selected by ``stmt`` (already limited to one organization), newest first."""
    if action:
        stmt = stmt.where(AuditEvent.action == action)
    stmt = stmt.order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
    page = min(max(page, 1), MAX_PAGE)  # an absurd page number must not overflow the OFFSET
    return db.paginate(stmt, page=page, per_page=PER_PAGE, error_out=False)


def action_choices(org_id: int) -> list[tuple[str, str]]:
    """(action, label) for the filter: the known actions plus any other this organization has recorded."""
    recorded = db.session.scalars(select(AuditEvent.action).where(AuditEvent.org_id == org_id).distinct()).all()
    extra = sorted(set(recorded) - set(AUDIT_ACTIONS))
    return [*AUDIT_ACTIONS.items(), *((action, action) for action in extra)]


# What a target is called on the audit page, and the column naming a row of that kind (looked up within the
# organization). "localproxy" is how events recorded with current_user were kept before targets were unwrapped.
TARGET_KINDS = {"user": "user", "localproxy": "user", "toastconnection": "Toast connection", "segment": "segment",
                "organization": "organization", "guest": "guest", "guestmerge": "guest merge",
                "syncrun": "sync run", "audiencedestination": "destination", "audiencesync": "audience sync"}
_NAMED = {"user": (User, User.email), "localproxy": (User, User.email),
          "toastconnection": (ToastConnection, ToastConnection.host), "segment": (Segment, Segment.name),
          "audiencedestination": (AudienceDestination, AudienceDestination.name)}


def target_labels(org_id: int, events) -> dict[tuple[str, str], str]:
    """Readable names of the events' targets: a user's email, a connection's host, a segment's name; other rows
    by kind and number ("guest #12", never a guest's name). Rows of other organizations are never named."""
    labels = {}
    for event in events:
        if event.target_type:
            kind = TARGET_KINDS.get(event.target_type, event.target_type)
            labels[(event.target_type, event.target_id)] = f"{kind} #{event.target_id}"
    for target_type, (model, column) in _NAMED.items():
        ids = {int(e.target_id) for e in events if e.target_type == target_type and (e.target_id or "").isdigit()}
        if ids:
            rows = db.session.execute(select(model.id, column).where(model.id.in_(ids), model.org_id == org_id))
            labels.update({(target_type, str(row_id)): name for row_id, name in rows})
    if any(e.target_type == "organization" for e in events):
        labels[("organization", str(org_id))] = db.session.get(Organization, org_id).name
    return labels
