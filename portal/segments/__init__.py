from flask import Blueprint

from portal.access import require_member

bp = Blueprint("segments", __name__, template_folder="templates", url_prefix="/segments")
bp.before_request(require_member)

from portal.segments import list_routes, routes  # noqa: E402,F401
