"""Audience sync: segments mirrored into Mailchimp and Klaviyo lists, consent-safe and diff-based."""
from flask import Blueprint

from portal.access import require_member

bp = Blueprint("audiences", __name__, template_folder="templates", url_prefix="/audiences")
bp.before_request(require_member)
# Mailchimp's list webhooks: no session, the destination's unguessable token names it.
webhooks_bp = Blueprint("audience_webhooks", __name__, url_prefix="/webhooks/mailchimp")

from portal.audiences import routes  # noqa: E402,F401
