from flask import current_app, redirect, render_template, request, url_for

from portal.access import owner_or_support_session, owner_required
from portal.connections import bp, service
from portal.connections.forms import ConnectionForm, DiscoverForm, ReconnectForm, WebhookSecretForm
from portal.connections.views import connection_summary
from portal.errorpages import error_response
from portal.errors import InputError
from portal.extensions import db
from portal.htmx import template, wants_fragment
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
@owner_or_support_session
def index():
    return render_template("connections/index.html", summaries=_summaries(), form=WebhookSecretForm(formdata=None))


@bp.get("/_status")
@owner_or_support_session
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
    if form.is_submitted():
        _ask_for_secrets_again(form)
    status = 400 if form.is_submitted() else 200
    return render_template("connections/new.html", form=form, error=error), status


def _ask_for_secrets_again(form: ConnectionForm) -> None:
    """Secrets are never sent back to the browser: after a failed check the other fields keep what was typed, and
    each secret that was typed says to enter it again."""
    for field in (form.client_secret, form.webhook_secret):
        if field.data and not field.errors:
            field.errors = [f"Enter the {field.label.text.split(' (')[0].lower()} again: secrets are never shown back."]


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


@bp.post("/<int:connection_id>/webhook-secret")
@owner_required
def webhook_secret(connection_id):
    """Add or rotate the webhook secret after connecting (the check of the client credentials does not need it)."""
    connection = get_or_404(ToastConnection, connection_id)
    form, saved = WebhookSecretForm(), False
    if form.validate_on_submit():
        _, error = commit_or_error(lambda: service.set_webhook_secret(connection, form.webhook_secret.data))
        form.webhook_secret.errors = [error] if error else []
        saved = error is None
    if not wants_fragment():
        return redirect(url_for("connections.index"), code=303)
    summary = connection_summary(connection, current_app.config["PORTAL_BASE_URL"])
    return render_template("connections/_webhook.html", summary=summary, saved=saved,
                           form=WebhookSecretForm(formdata=None) if saved else form), 200 if saved else 400


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
