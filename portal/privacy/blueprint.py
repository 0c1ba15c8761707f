"""The privacy blueprint and its routes (kept out of the package's __init__: importing a core module of the
package, such as the ones the sync engine calls, imports no Flask)."""
from flask import Blueprint

from portal.access import require_member
from portal.privacy.links import UNSUBSCRIBE_PREFIX

bp = Blueprint("privacy", __name__, template_folder="templates", url_prefix="/guests")
bp.before_request(require_member)
unsubscribe_bp = Blueprint("unsubscribe", __name__, template_folder="templates", url_prefix=UNSUBSCRIBE_PREFIX)

from portal.privacy import routes  # noqa: E402,F401
