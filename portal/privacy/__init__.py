"""Guest privacy and consent: marketing opt-out (by hand, imported lists, signed one-click links), erasure, and
keeping guest PII out of logs.

Two blueprints: ``privacy`` (members of the organization, under /guests) and ``unsubscribe`` (the signed links
guests open from emails: no session, no CSRF token; the token is the credential).
"""
from flask import Blueprint

from portal.access import require_member

bp = Blueprint("privacy", __name__, template_folder="templates", url_prefix="/guests")
bp.before_request(require_member)
unsubscribe_bp = Blueprint("unsubscribe", __name__, template_folder="templates", url_prefix="/u")

from portal.privacy import routes  # noqa: E402,F401
