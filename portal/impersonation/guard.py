"""Impersonation at request time: which organization a request acts for, which session is active, expiry,
read-only enforcement, auditing writes.

``resolve_current_org`` decides the current organization in one place (members: their own; support staff: the
one they are viewing as); the hooks here run right after the app sets it.
"""
from flask import Flask, current_app, flash, g, request, session, url_for
from flask_login import user_logged_out

from portal.access import BlockedWhileImpersonating, ImpersonationForbidden, is_blocked_while_impersonating
from portal.audit.service import record
from portal.extensions import db
from portal.htmx import redirect_page
from portal.impersonation import service
from portal.models import Impersonation, Organization
from portal.models.base import utcnow

SESSION_KEY = "impersonation_id"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Writes allowed in a read-only session: leaving it. Their own audit events say what happened.
EXEMPT_ENDPOINTS = frozenset({"impersonation.stop", "auth.logout"})
ASSET_ENDPOINTS = frozenset({"static", "htmx_asset"})


def resolve_current_org(user) -> Organization | None:
    """The organization a signed-in user acts for.

    Members act for their own. Support staff act for none, except while viewing as an organization: then for
    that one, with ``current_user`` still the support user.
    """
    if user is None or not user.is_authenticated:
        return None
    if user.is_support:
        impersonation = active_impersonation(user)
        return impersonation.organization if impersonation is not None else None
    if user.org_id is None:
        return None
    return db.session.get(Organization, user.org_id)


def active_impersonation(user) -> Impersonation | None:
    """The open impersonation this session is in (cached on ``g``), or None.

    An expired one is ended here (audit "impersonation.expired") and the session forgets it; the guard hook
    then sends the user back to the tenant list. Expiry is fixed at the start and never extends the login.
    """
    if "impersonation" in g:
        return g.impersonation
    g.impersonation = None
    impersonation_id = session.get(SESSION_KEY)
    if impersonation_id is None:
        return None
    impersonation = service.session_impersonation(impersonation_id, user.id) if user.is_support else None
    if impersonation is None:
        forget()
        return None
    if impersonation.expires_at <= utcnow():
        service.end(impersonation, "expired")
        db.session.commit()
        forget()
        g.impersonation_expired = impersonation.organization.name
        return None
    g.impersonation = impersonation
    return impersonation


def remember(impersonation: Impersonation) -> None:
    session[SESSION_KEY] = impersonation.id


def forget() -> None:
    session.pop(SESSION_KEY, None)


def register(app: Flask) -> None:
    """Install the hooks; call after the hook that sets g.current_org."""
    app.before_request(_guard)
    app.after_request(_audit_write)
    user_logged_out.connect(_end_on_logout, app)

    @app.context_processor
    def impersonation_banner():
        """The banner's facts, and what pages may offer: no write control a read-only support session would only
        see refused (``can_change``), no export while impersonating at all (``can_export``)."""
        impersonation = g.get("impersonation")
        if impersonation is None:
            return {"impersonation": None, "can_change": True, "can_export": True}
        can_write = service.can_write(impersonation)
        return {
            "impersonation": impersonation,
            "impersonation_minutes_left": service.minutes_left(impersonation),
            "impersonation_can_write": can_write,
            "can_change": can_write,
            "can_export": False,
        }


def _guard():
    """Expired: back to the tenant list. Blocked endpoint: 403. A write in a read-only session: 403."""
    if g.get("impersonation_expired") and request.endpoint not in ASSET_ENDPOINTS | {"auth.logout"}:
        flash(f"Your support session with {g.impersonation_expired} expired.", "info")
        return redirect_page(url_for("support.tenants"))
    impersonation = g.get("impersonation")
    if impersonation is None:
        return None
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    if is_blocked_while_impersonating(request.endpoint, view):
        raise BlockedWhileImpersonating()
    if request.method not in SAFE_METHODS and request.endpoint not in EXEMPT_ENDPOINTS:
        if not service.can_write(impersonation):
            raise ImpersonationForbidden()
    return None


def _audit_write(response):
    """Record every write attempted while impersonating (made or refused), with its outcome."""
    impersonation = g.get("impersonation")
    if impersonation is None or request.method in SAFE_METHODS or request.endpoint in EXEMPT_ENDPOINTS:
        return response
    if response.status_code >= 400:
        db.session.rollback()  # a failed request must not get half its changes committed with the audit row
    action = "impersonation.write_blocked" if response.status_code == 403 else "impersonation.write"
    details = {
        "method": request.method, "path": request.path[:200], "endpoint": (request.endpoint or "")[:200],
        "status": response.status_code,
    }
    record(action, org_id=impersonation.org_id, details=details, impersonation_id=impersonation.id)
    db.session.commit()
    return response


def _end_on_logout(sender, user=None, **extra):
    """Signing out ends the impersonation too (Flask-Login signal, sent before the session is cleared)."""
    impersonation = g.get("impersonation")
    if impersonation is not None:
        service.end(impersonation, "logout")
        db.session.commit()
        g.impersonation = None
