from flask import Blueprint

from portal.access import support_required

bp = Blueprint("support", __name__, template_folder="templates", url_prefix="/support")
bp.before_request(support_required)

from portal.support import routes  # noqa: E402,F401
