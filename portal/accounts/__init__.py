from flask import Blueprint

from portal.access import require_member

bp = Blueprint("accounts", __name__, template_folder="templates", url_prefix="/settings/users")
bp.before_request(require_member)

from portal.accounts import routes  # noqa: E402,F401
