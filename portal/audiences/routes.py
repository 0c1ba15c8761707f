import csv
import io

from flask import Response, abort, redirect, render_template, request, url_for
from flask_login import current_user

from portal.access import blocked_while_impersonating, owner_required
from portal.audiences import bp, fields, optouts, service, webhooks_bp
from portal.errorpages import error_response
from portal.errors import InputError
from portal.extensions import csrf, db
from portal.models import AudienceDestination, AudienceRun, Segment
from portal.models.audience import KIND_LABELS
from portal.tenancy import current_org, get_or_404
from portal.transaction import commit_or_error


@bp.get("/destinations")
@owner_required
def destinations():
    return render_template("audiences/destinations.html", destinations=service.destinations_of(current_org().id),
                           kinds=KIND_LABELS, form={}, error=None)


@bp.post("/destinations")
@owner_required
@blocked_while_impersonating
def connect():
    form = request.form
    org = current_org()

    def change():
        return service.connect(org.id, kind=form.get("kind", ""), base_url=form.get("base_url", ""),
                               api_key=form.get("api_key", ""), list_id=form.get("list_id", ""), user=current_user,
                               webhook_base=request.host_url)
    _, error = commit_or_error(change)
    if error:
        kept = {k: form.get(k, "") for k in ("kind", "base_url", "list_id")}  # never the key
        return render_template("audiences/destinations.html", destinations=service.destinations_of(org.id),
                               kinds=KIND_LABELS, form=kept, error=error), 422
    return redirect(url_for("audiences.destinations"), 303)


@bp.post("/destinations/<int:destination_id>/test")
@owner_required
def test(destination_id):
    destination = get_or_404(AudienceDestination, destination_id)
    works, message = service.test_destination(destination)
    db.session.commit()
    return render_template("audiences/_test_result.html", works=works, message=message, destination=destination)


@bp.post("/destinations/<int:destination_id>/delete")
@owner_required
@blocked_while_impersonating
def disconnect(destination_id):
    destination = get_or_404(AudienceDestination, destination_id)
    _, error = commit_or_error(lambda: service.disconnect(destination, current_user))
    if error:
        return error_response(503, error)
    return redirect(url_for("audiences.destinations"), 303)


@bp.get("/segments/<int:segment_id>/_panel")
def panel(segment_id):
    segment = get_or_404(Segment, segment_id)
    return render_template("audiences/_panel.html", **_panel_context(segment))


@bp.post("/segments/<int:segment_id>/sync")
def sync_now(segment_id):
    segment = get_or_404(Segment, segment_id)
    destination = get_or_404(AudienceDestination, request.form.get("destination_id", type=int))
    keys = request.form.getlist("fields") or None
    try:
        sync = service.sync_for(segment, destination, keys, current_user)
        service.start_run(sync, "manual", current_user)
    except InputError as exc:
        db.session.rollback()
        return render_template("audiences/_panel.html", error=str(exc), **_panel_context(segment)), 422
    return render_template("audiences/_panel.html", **_panel_context(segment))


@bp.get("/runs/<int:run_id>/rejected.csv")
@blocked_while_impersonating
def rejected(run_id):
    run = get_or_404(AudienceRun, run_id)
    rows = service.rejections(run)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["guest_id", "code", "reason"])
    writer.writerows(rows)
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename=run-{run.id}-rejected.csv"})


def _panel_context(segment: Segment) -> dict:
    syncs = service.syncs_of_segment(segment)
    runs = {sync.id: service.recent_runs(sync) for sync in syncs}
    active = any(r.active for recent in runs.values() for r in recent[:1])
    return {"segment": segment, "syncs": syncs, "runs": runs, "active": active, "fields": fields.FIELDS,
            "default_fields": fields.DEFAULT_FIELDS, "destinations": service.destinations_of(segment.org_id),
            "error": None}


@webhooks_bp.route("/<token>", methods=["GET", "POST"])
@csrf.exempt  # authenticated by the unguessable token in the URL Mailchimp was given
def mailchimp(token):
    destination = optouts.destination_for_token(token)
    if destination is None or destination.kind != "mailchimp":
        abort(404)
    if request.method == "GET":  # Mailchimp checks the URL answers before saving the webhook
        return {"status": "ok"}
    optouts.mailchimp_event(destination, request.form)
    db.session.commit()
    return {"status": "accepted"}
