"""Guest profiles: identity resolution, per-guest figures kept current as orders arrive, pages and exports."""
from flask import Blueprint

from portal.access import require_member

bp = Blueprint("guests", __name__, template_folder="templates", url_prefix="/guests")
bp.before_request(require_member)

from portal.guests import list_routes, routes  # noqa: E402,F401
