from flask import Blueprint

from portal.access import require_member

bp = Blueprint("dashboard", __name__, template_folder="templates")
bp.before_request(require_member)

from portal.dashboard import routes  # noqa: E402,F401
