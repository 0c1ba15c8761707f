from flask import render_template

from portal.dashboard import bp
from portal.dashboard.service import member_count
from portal.tenancy import current_org


@bp.get("/")
def index():
    org = current_org()
    return render_template("dashboard/index.html", org=org, members=member_count(org.id))
