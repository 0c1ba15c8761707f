"""The segments blueprint and its routes (kept out of the package's __init__: importing a core module of the
package, such as the ones the sync engine calls, imports no Flask)."""
from flask import Blueprint

from portal.access import require_member

bp = Blueprint("segments", __name__, template_folder="templates", url_prefix="/segments")
bp.before_request(require_member)

from portal.segments import list_routes, routes  # noqa: E402,F401
