from flask import render_template, request

from portal.access import owner_required
from portal.audit import bp
from portal.audit.service import action_choices, events_page, target_labels
from portal.htmx import template
from portal.models import AuditEvent
from portal.tenancy import current_org, scoped


@bp.get("/audit")
@owner_required
def index():
    org = current_org()
    choices = action_choices(org.id)
    action = request.args.get("action", "")
    action = action if action in dict(choices) else ""  # an unknown filter shows everything, not an error
    events = events_page(scoped(AuditEvent), action=action or None, page=request.args.get("page", 1, type=int))
    return render_template(
        template("audit/_events.html", "audit/index.html"), events=events, action=action, choices=choices, labels=target_labels(org.id, events.items)
    )
