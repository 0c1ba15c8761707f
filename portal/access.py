"""Who may enter which blueprint: members of an organization, owners, support staff."""
from functools import wraps

from flask import abort, g, redirect, request, url_for
from flask_login import current_user
from werkzeug.exceptions import Forbidden

# Endpoints support staff never reach while viewing as an organization, even in a session that allows changes:
# Toast credentials, user management. A key ending in "." covers a whole blueprint. Single views (bulk guest
# exports...) are marked with @blocked_while_impersonating instead; read-only pages inside a blocked blueprint
# (the Toast sync status support is there to diagnose) with @owner_or_support_session.
BLOCKED_WHILE_IMPERSONATING = frozenset({"connections.", "accounts."})


class ImpersonationForbidden(Forbidden):
    """403 for a support user viewing as an organization; ``public_message`` is shown on the error page."""

    public_message = "This is a read-only support session: changes are not allowed."


class BlockedWhileImpersonating(ImpersonationForbidden):
    public_message = "This page is not available in a support session (credentials, users and exports)."


def require_member() -> None:
    """before_request hook for tenant blueprints: signed in and acting for an organization."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    if g.get("current_org") is None:
        if current_user.is_support:
            return redirect(url_for("support.tenants"))
        abort(404)
    return None


def owner_required(view):
    """Owners only; a marketer of the same organization gets a 403 (it is their organization, not a leak)."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated or not current_user.is_owner:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def owner_or_support_session(view):
    """A page owners use and support staff may read while viewing as the organization (the Toast sync status).

    Only for views that change nothing and show no secret: the page hides its write controls from support.
    """

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated or not (current_user.is_owner or g.get("impersonation") is not None):
            abort(403)
        return view(*args, **kwargs)

    wrapped.readable_while_impersonating = True
    return wrapped


def support_required() -> None:
    """before_request hook for the support blueprint: anyone else sees nothing there (404)."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    if not current_user.is_support:
        abort(404)
    return None


def blocked_while_impersonating(view):
    """Mark a view as never reachable while impersonating (bulk PII exports...): BlockedWhileImpersonating (403).

    The request guard (portal.impersonation.guard) refuses marked views before any hook runs; the check here
    is a second line in case the view is reached some other way.
    """

    @wraps(view)
    def wrapped(*args, **kwargs):
        if g.get("impersonation") is not None:
            raise BlockedWhileImpersonating()
        return view(*args, **kwargs)

    wrapped.blocked_while_impersonating = True
    return wrapped


def is_blocked_while_impersonating(endpoint: str | None, view) -> bool:
    """Whether this endpoint is off limits to support staff viewing as an organization."""
    if getattr(view, "blocked_while_impersonating", False):
        return True
    if getattr(view, "readable_while_impersonating", False):
        return False
    return endpoint is not None and any(
        endpoint == key or (key.endswith(".") and endpoint.startswith(key)) for key in BLOCKED_WHILE_IMPERSONATING
    )
