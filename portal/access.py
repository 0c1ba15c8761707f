"""Who may enter which blueprint: members of an organization, owners, support staff."""
from functools import wraps

from flask import abort, g, redirect, request, url_for
from flask_login import current_user


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


def support_required() -> None:
    """before_request hook for the support blueprint: anyone else sees nothing there (404)."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    if not current_user.is_support:
        abort(404)
    return None
