from flask import current_app, redirect, render_template, request, url_for

from portal.access import owner_required
from portal.connections import bp, service
from portal.connections.forms import ConnectionForm, DiscoverForm, ReconnectForm
from portal.connections.views import connection_summary
from portal.errorpages import error_response
from portal.errors import InputError
from portal.extensions import db
from portal.htmx import template
from portal.models import Location, ToastConnection
from portal.sync import runs
from portal.tenancy import current_org, get_or_404, scoped
from portal.toast.errors import ToastError
from portal.transaction import commit_or_error


def _summaries():
    base = current_app.config["PORTAL_BASE_URL"]
    connections = db.session.scalars(scoped(ToastConnection).order_by(ToastConnection.id)).all()
    return [connection_summary(connection, base) for connection in connections]


@bp.get("/")
@owner_required
def index():
    return render_template("connections/index.html", summaries=_summaries())


@bp.get("/_status")
@owner_required
def status():
    return render_template("connections/_status.html", summaries=_summaries())


@bp.route("/new", methods=["GET", "POST"])
@owner_required
def new():
    form, error = ConnectionForm(), None
    if form.validate_on_submit():
        connection, error = commit_or_error(lambda: service.create_connection(
            current_org(), host=form.host.data, client_id=form.client_id.data,
            client_secret=form.client_secret.data, webhook_secret=form.webhook_secret.data,
        ))
        if not error:
            return redirect(url_for("connections.locations", connection_id=connection.id), code=303)
    status = 400 if form.is_submitted() else 200
    return render_template("connections/new.html", form=form, error=error), status


@bp.route("/<int:connection_id>/locations", methods=["GET", "POST"])
@owner_required
def locations(connection_id):
    connection = get_or_404(ToastConnection, connection_id)
    form, error, found = DiscoverForm(), None, []
    try:
        typed = service.parse_guids(form.guids.data if form.is_submitted() else "")
        found = service.discover(connection, typed)
    except (InputError, ToastError) as exc:
        error = str(exc)
    page = template("connections/_discovered.html", "connections/locations.html")
    return render_template(page, connection=connection, form=form, found=found, error=error)


@bp.post("/<int:connection_id>/connect")
@owner_required
def connect(connection_id):
    connection = get_or_404(ToastConnection, connection_id)
    guids = [guid.lower() for guid in request.form.getlist("guid")][:500]
    names = {guid: request.form.get(f"name-{guid}", "")[:255] for guid in guids}

    def connect_picked():
        service.parse_guids(" ".join(guids))
        return service.connect_locations(connection, guids, names)

    connected, error = commit_or_error(connect_picked)
    if error:
        return error_response(400, error)
    for location in connected:
        runs.start(location, runs.CONFIG, at_front=True)
        runs.start(location, runs.BACKFILL)
    return redirect(url_for("connections.index"), code=303)


@bp.post("/<int:connection_id>/reconnect")
@owner_required
def reconnect(connection_id):
    connection = get_or_404(ToastConnection, connection_id)
    form = ReconnectForm()
    error = "enter the new client secret"
    if form.validate_on_submit():
        _, error = commit_or_error(lambda: service.replace_secret(connection, form.client_secret.data))
    if error:
        return render_template("_error_fragment.html", message=error), 400
    return redirect(url_for("connections.index"), code=303)


@bp.post("/locations/<int:location_id>/sync")
@owner_required
def sync(location_id):
    location = get_or_404(Location, location_id)
    kind = runs.POLL if location.backfill_completed_at else runs.BACKFILL
    try:
        runs.start(location, kind, at_front=True)
    except InputError as exc:
        return error_response(409, str(exc))
    return render_template("connections/_status.html", summaries=_summaries())
