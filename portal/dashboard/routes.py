from flask import render_template, request

from portal.dashboard import bp, service, views
from portal.extensions import db
from portal.htmx import template
from portal.localtime import organization_zone
from portal.tenancy import current_org


@bp.get("/")
def index():
    org = current_org()
    locations = service.locations(org.id)
    zone = organization_zone(db.session, org.id)
    today = service.today_in(zone)
    filters = service.Filters.from_args(request.args, today, {location.id for location in locations})
    return render_template(template("dashboard/_dashboard.html", "dashboard/index.html"), org=org,
                           filters=filters, ranges=service.RANGES, locations=locations, today=today, zone_name=zone.key,
                           members=service.member_count(org.id), **views.page(org.id, filters))
