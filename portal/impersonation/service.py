"""Starting and ending support impersonation sessions, and who may make changes in one. No request here."""
import logging
from datetime import datetime, timedelta

from sqlalchemy import select

from portal.accounts.service import normalize_email
from portal.audit.service import record
from portal.errors import ConflictError, InputError
from portal.extensions import db
from portal.models import Impersonation, Organization, User
from portal.models.base import utcnow

log = logging.getLogger(__name__)
REASON_MIN, REASON_MAX = 3, 200


class ImpersonationRefused(InputError):
    """This person may not start this impersonation; the message says why."""


def organization(org_id: int) -> Organization | None:
    return db.session.get(Organization, org_id)


def start(actor: User, org_id: int | None, reason: str, *, allow_changes: bool, minutes: int,
          active: Impersonation | None = None) -> Impersonation:
    """Open an impersonation of ``org_id`` by the support user ``actor`` for ``minutes``; records the start.

    ``active`` is the impersonation the actor's session is already in (nested ones are refused). Any other open
    impersonation of the actor (another browser) ends as "superseded": one at a time per support user.
    Raises ImpersonationRefused (not support staff, nested, a support account as target, changes not granted),
    InputError (reason not 3-200 characters) or LookupError (no such organization).
    """
    _check_actor(actor, allow_changes, active)
    if org_id is None:
        raise ImpersonationRefused("support accounts belong to no organization and cannot be viewed as")
    org = organization(org_id)
    if org is None:
        raise LookupError("no such organization")
    reason = " ".join((reason or "").split())
    if not REASON_MIN <= len(reason) <= REASON_MAX:
        raise InputError(f"give a reason or ticket number of {REASON_MIN} to {REASON_MAX} characters")
    now = utcnow()
    for other in open_impersonations(actor.id, now):
        end(other, "superseded", now=now)
    impersonation = Impersonation(
        org_id=org.id, support_user_id=actor.id, reason=reason, can_write=allow_changes,
        started_at=now, expires_at=now + timedelta(minutes=minutes),
    )
    db.session.add(impersonation)
    db.session.flush()
    record("impersonation.started", org_id=org.id, target=org, impersonation_id=impersonation.id, actor=actor,
           details={"reason": reason, "can_write": allow_changes, "minutes": minutes})
    return impersonation


def _check_actor(actor: User, allow_changes: bool, active: Impersonation | None) -> None:
    if actor is None or not actor.is_support or not actor.is_active:
        raise ImpersonationRefused("only support staff can view as an organization")
    if active is not None:
        raise ConflictError("you are already viewing as an organization: stop that session first")
    if allow_changes and not actor.can_write_as_support:
        raise ImpersonationRefused("you have not been granted changes in support sessions")


def open_impersonations(support_user_id: int, now: datetime) -> list[Impersonation]:
    stmt = select(Impersonation).where(
        Impersonation.support_user_id == support_user_id,
        Impersonation.ended_at.is_(None),
        Impersonation.expires_at > now,
    )
    return list(db.session.scalars(stmt))


def session_impersonation(impersonation_id, support_user_id: int) -> Impersonation | None:
    """The not-yet-ended impersonation a session points at, if it belongs to this support user."""
    if not isinstance(impersonation_id, int):
        return None
    impersonation = db.session.get(Impersonation, impersonation_id)
    if impersonation is None or impersonation.support_user_id != support_user_id or impersonation.ended_at:
        return None
    return impersonation


def end(impersonation: Impersonation, end_reason: str, *, now: datetime | None = None) -> None:
    """Close an impersonation ("stopped", "expired", "logout", "superseded") and record it; idempotent."""
    if impersonation.ended_at is not None:
        return
    impersonation.ended_at = now or utcnow()
    impersonation.end_reason = end_reason
    action = "impersonation.expired" if end_reason == "expired" else "impersonation.stopped"
    record(action, org_id=impersonation.org_id, target=impersonation.organization,
           impersonation_id=impersonation.id, actor=impersonation.support_user,
           details={"reason": impersonation.reason, "end_reason": end_reason})


def can_write(impersonation: Impersonation) -> bool:
    """Changes need both the session's "allow changes" and the support user's grant (revoking applies at once)."""
    return impersonation.can_write and impersonation.support_user.can_write_as_support


def minutes_left(impersonation: Impersonation, now: datetime | None = None) -> int:
    seconds = (impersonation.expires_at - (now or utcnow())).total_seconds()
    return max(0, int(-(-seconds // 60)))  # rounded up: "1 min left" until the very end


def set_write_permission(email: str, allowed: bool) -> User:
    """Grant or revoke changes in support sessions. InputError for an unknown email or a non-support user."""
    user = db.session.scalar(select(User).where(User.email == normalize_email(email)))
    if user is None:
        raise InputError("no user with this email")
    if not user.is_support:
        raise InputError("only support users can be granted changes in support sessions")
    user.can_write_as_support = allowed
    log.info("support write permission %s for user %s", "granted" if allowed else "revoked", user.id)
    return user
