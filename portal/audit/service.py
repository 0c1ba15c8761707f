"""The audit trail: recording events for an organization and reading them back for its owners."""
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import Select, select

from portal.audit.context import request_actor, request_fields
from portal.extensions import db
from portal.models import AUDIT_ACTIONS, AuditEvent, User

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


def target_labels(org_id: int, events) -> dict[tuple[str, str], str]:
    """Readable names for the users the events point at (only users of this organization)."""
    user_ids = {int(e.target_id) for e in events if e.target_type == "user" and (e.target_id or "").isdigit()}
    if not user_ids:
        return {}
    rows = db.session.execute(select(User.id, User.email).where(User.id.in_(user_ids), User.org_id == org_id))
    return {("user", str(user_id)): email for user_id, email in rows}
