from flask import Blueprint

from portal.access import require_member

bp = Blueprint("audit", __name__, template_folder="templates", url_prefix="/settings")
bp.before_request(require_member)

from portal.audit import routes  # noqa: E402,F401
