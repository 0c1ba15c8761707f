"""Signing in: credential check with per-account lockout and backoff."""
from datetime import timedelta

from sqlalchemy import select

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
    """The active user with these credentials. Raises LoginRefused; counts failures and locks with backoff."""
    user = db.session.scalar(select(User).where(User.email == (email or "").strip().lower()))
    now = utcnow()
    if user is not None and user.locked_until is not None and user.locked_until > now:
        raise LoginRefused("too many failed attempts; try again in a few minutes")
    ok = verify_password(user.password_hash if user else _DUMMY_HASH, password or "")
    if user is None or not ok or not user.is_active:
        if user is not None and not ok:
            _record_failure(user)
        raise LoginRefused("email or password is not correct")
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    return user


def _record_failure(user: User) -> None:
    user.failed_logins += 1
    over = user.failed_logins - FREE_ATTEMPTS
    if over >= 0:
        user.locked_until = utcnow() + min(timedelta(minutes=2**over), MAX_LOCK)
    db.session.commit()
