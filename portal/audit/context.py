"""Who is acting and from where, read from the current request when there is one (CLI and jobs have none)."""
from flask import g, has_request_context, request
from flask_login import current_user


def request_actor():
    """The signed-in user (the real one: a support user stays the actor while viewing as an organization)."""
    if not has_request_context() or not current_user.is_authenticated:
        return None
    return current_user._get_current_object()


def request_fields() -> dict:
    """Request columns of an audit event; empty outside a request. The query string is left out: it may hold PII."""
    if not has_request_context():
        return {}
    impersonation = g.get("impersonation")
    return {
        "ip": (request.remote_addr or "")[:45] or None,
        "user_agent": (request.user_agent.string or "")[:255] or None,
        "request_method": request.method[:10],
        "request_path": request.path[:255],
        "request_id": g.get("request_id"),
        "impersonation_id": impersonation.id if impersonation is not None else None,
    }
