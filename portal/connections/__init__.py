from flask import Blueprint

from portal.access import require_member

bp = Blueprint("connections", __name__, template_folder="templates", url_prefix="/connections")
bp.before_request(require_member)

from portal.connections import routes  # noqa: E402,F401
