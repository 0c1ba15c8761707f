from flask import abort, current_app, flash, g, redirect, render_template, url_for
from flask_login import current_user

from portal.extensions import db
from portal.impersonation import bp, guard, service
from portal.impersonation.forms import StartForm
from portal.transaction import commit_or_error


@bp.route("/tenants/<int:org_id>/view-as", methods=["GET", "POST"])
def start(org_id):
    org = service.organization(org_id)
    if org is None:
        abort(404)
    form = StartForm()
    error = None
    if form.validate_on_submit():
        impersonation, error = commit_or_error(lambda: service.start(
            current_user, org.id, form.reason.data, allow_changes=form.allow_changes.data,
            minutes=current_app.config["IMPERSONATION_MINUTES"], active=g.get("impersonation"),
        ))
        if not error:
            guard.remember(impersonation)
            flash(f"You are viewing {org.name} as its members see it. Every change is recorded.", "info")
            return redirect(url_for("dashboard.index"), code=303)
    status = 400 if form.is_submitted() else 200
    return render_template("impersonation/start.html", form=form, org=org, error=error), status


@bp.post("/view-as/stop")
def stop():
    impersonation = g.get("impersonation")
    if impersonation is not None:
        service.end(impersonation, "stopped")
        db.session.commit()
        flash(f"You stopped viewing {impersonation.organization.name}.", "success")
    guard.forget()
    return redirect(url_for("support.tenants"), code=303)
