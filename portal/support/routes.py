from flask import render_template, request

from portal.support import bp
from portal.support.service import tenant_rows


@bp.get("/tenants")
def tenants():
    query = request.args.get("q", "").strip()[:100]
    template = "support/_tenant_rows.html" if request.headers.get("HX-Request") else "support/tenants.html"
    return render_template(template, rows=tenant_rows(query), query=query)
