"""Signing in: credential check with per-account lockout and backoff."""
from datetime import timedelta

from sqlalchemy import select

from portal.audit.service import record
from portal.passwords import hash_password, verify_password
from portal.extensions import db
from portal.models import User
from portal.models.base import utcnow

FREE_ATTEMPTS = 5
MAX_LOCK = timedelta(hours=1)
# Compared against when the email is unknown, so both paths cost one scrypt and timing reveals nothing.
_DUMMY_HASH = hash_password("not-a-real-password-for-timing")


class LoginRefused(Exception):
    """Sign-in failed; the message is the same whether the email exists or not, except for a lockout."""


def authenticate(email: str, password: str) -> User:
    """The active user with these credentials. Raises LoginRefused; counts failures and locks with backoff.

    Sign-ins and failed ones of an organization's members go to its audit trail (the account only: an address
    typed that matches nobody is not kept anywhere). The caller commits a success; a failure is committed here.
    """
    user = db.session.scalar(select(User).where(User.email == (email or "").strip().lower()))
    now = utcnow()
    if user is not None and user.locked_until is not None and user.locked_until > now:
        _audit(user, "user.sign_in_failed", reason="locked")
        db.session.commit()
        raise LoginRefused("too many failed attempts; try again in a few minutes")
    ok = verify_password(user.password_hash if user else _DUMMY_HASH, password or "")
    if user is None or not ok or not user.is_active:
        if user is not None:
            _record_failure(user, "wrong password" if not ok else "disabled")
        raise LoginRefused("email or password is not correct")
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    _audit(user, "user.signed_in", actor=user)
    return user


def _record_failure(user: User, reason: str) -> None:
    if reason == "wrong password":
        user.failed_logins += 1
        over = user.failed_logins - FREE_ATTEMPTS
        if over >= 0:
            user.locked_until = utcnow() + min(timedelta(minutes=2**over), MAX_LOCK)
    _audit(user, "user.sign_in_failed", reason=reason)
    db.session.commit()


def _audit(user: User, action: str, *, actor: User | None = None, reason: str | None = None) -> None:
    if user.org_id is not None:  # support staff belong to no organization, so to no organization's trail
        record(action, org_id=user.org_id, target=user, actor=actor, details={"reason": reason} if reason else None)
