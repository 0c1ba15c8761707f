"""Support staff viewing an organization as its members see it: time-limited, read-only unless granted, audited."""
from flask import Blueprint

from portal.access import support_required

bp = Blueprint("impersonation", __name__, template_folder="templates", url_prefix="/support")
bp.before_request(support_required)

from portal.impersonation import routes  # noqa: E402,F401
