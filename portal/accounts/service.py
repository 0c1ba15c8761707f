"""Organizations and their users: creation, roles, removal, passwords. Used by views and the CLI alike."""
import re

from sqlalchemy import func, select

from portal.audit.service import record
from portal.segments.service import create_presets
from portal.passwords import WeakPasswordError, check_strength, generate_password, hash_password, verify_password
from portal.errors import ConflictError, InputError
from portal.extensions import db
from portal.models import ROLES, Organization, User
from portal.models.base import utcnow
from portal.models.tenant import SLUG_PATTERN
from portal.models.user import new_session_token

EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalize_email(email: str) -> str:
    """Trimmed, lower-cased email; InputError when it is not an address."""
    cleaned = (email or "").strip().lower()
    if not EMAIL_PATTERN.match(cleaned) or len(cleaned) > 254:
        raise InputError("enter a valid email address")
    return cleaned


def create_organization(name: str, slug: str) -> Organization:
    """Create a tenant with its preset segments. InputError on a bad name/slug, ConflictError on a taken slug."""
    name = (name or "").strip()
    if not name or len(name) > 120:
        raise InputError("organization name must be 1 to 120 characters")
    if not SLUG_PATTERN.match(slug or ""):
        raise InputError("slug must be lower-case letters, digits and dashes (e.g. 'harbor-group')")
    if db.session.scalar(select(Organization.id).where(Organization.slug == slug)) is not None:
        raise ConflictError(f"an organization with slug '{slug}' already exists")
    org = Organization(name=name, slug=slug)
    db.session.add(org)
    db.session.flush()
    create_presets(org.id)
    return org


def create_user(
    email: str, *, org: Organization | None = None, role: str | None = None, password: str | None = None
) -> tuple[User, str | None]:
    """Create a member (org + role) or, with no org, a support user.

    Returns the user and the generated password when none was given (to be shown once).
    Raises InputError (bad email, role, weak password) or ConflictError (email taken).
    """
    email = normalize_email(email)
    if org is not None and role not in ROLES:
        raise InputError(f"role must be one of: {', '.join(ROLES)}")
    if db.session.scalar(select(User.id).where(User.email == email)) is not None:
        raise ConflictError("a user with this email already exists")
    generated = None
    if password is None:
        password = generated = generate_password()
    _check_password(password, email)
    user = User(
        email=email,
        password_hash=hash_password(password),
        org_id=org.id if org else None,
        role=role if org else None,
        is_support=org is None,
        must_change_password=generated is not None,
    )
    db.session.add(user)
    db.session.flush()
    if org is not None:  # support users belong to no organization, so no organization's log
        record("user.created", org_id=org.id, target=user, details={"role": role})
    return user, generated


def _check_password(password: str, email: str) -> None:
    try:
        check_strength(password, email)
    except WeakPasswordError as exc:
        raise InputError(str(exc)) from None


def active_owner_count(org_id: int) -> int:
    return db.session.scalar(
        select(func.count(User.id)).where(User.org_id == org_id, User.role == "owner", User.disabled_at.is_(None))
    )


def remove_user(actor: User, user: User) -> None:
    """Disable a member (kept for the audit trail). Refuses self-removal and removing the last owner."""
    if user.id == actor.id:
        raise InputError("you cannot remove yourself")
    if user.is_owner and active_owner_count(user.org_id) <= 1:
        raise ConflictError("an organization needs at least one owner")
    user.disabled_at = utcnow()
    user.session_token = new_session_token()
    record("user.removed", org_id=user.org_id, target=user, actor=actor, details={"role": user.role})


def change_role(actor: User, user: User, role: str) -> None:
    """Change a member's role. InputError for one's own role (another owner changes it: nobody locks themselves
    out by mistake) or an unknown role; ConflictError when the last owner would be demoted."""
    if role not in ROLES:
        raise InputError(f"role must be one of: {', '.join(ROLES)}")
    if user.is_owner and role != "owner" and active_owner_count(user.org_id) <= 1:
        raise ConflictError("an organization needs at least one owner")
    if user.id == actor.id and role != user.role:
        raise InputError("you cannot change your own role: ask another owner")
    if user.role != role:
        record("user.role_changed", org_id=user.org_id, target=user, actor=actor,
               details={"from": user.role, "to": role})
    user.role = role


def change_password(user: User, current: str, new: str) -> None:
    """Set a new password after checking the current one; other sessions of the user stop working."""
    if not verify_password(user.password_hash, current):
        raise InputError("current password is not correct")
    if current == new:
        raise InputError("the new password must differ from the current one")
    _check_password(new, user.email)
    user.password_hash = hash_password(new)
    user.must_change_password = False
    user.session_token = new_session_token()
    if user.org_id is not None:
        record("user.password_changed", org_id=user.org_id, target=user, actor=user)
