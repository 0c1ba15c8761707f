"""Guest value: the organization page of the predictive models (fit, parameters, quality check, RFM groups)."""
from flask import Blueprint

from portal.access import require_member

bp = Blueprint("insights", __name__, template_folder="templates", url_prefix="/insights")
bp.before_request(require_member)

from portal.insights import routes  # noqa: E402,F401
