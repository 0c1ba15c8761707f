from flask import abort, render_template, request

from portal.htmx import template
from portal.support import bp
from portal.support.service import tenant_rows, webhook_failures


@bp.get("/tenants")
def tenants():
    query = request.args.get("q", "").strip()[:100]
    return render_template(template("support/_tenant_rows.html", "support/tenants.html"), rows=tenant_rows(query), query=query)


@bp.get("/tenants/<int:org_id>/webhook-failures")
def tenant_webhook_failures(org_id):
    """Read-only: the organization's webhook events given up on, per Toast connection, with their reasons (support
    cannot open the connections page itself: Toast credentials stay blocked in support sessions)."""
    found = webhook_failures(org_id)
    if found is None:
        abort(404)
    org, rows = found
    return render_template("support/webhook_failures.html", org=org, rows=rows)
