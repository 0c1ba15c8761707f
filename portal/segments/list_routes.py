"""Adding guests ticked on (or matching) the guest list to a list segment: a confirmation naming how many guests
and which segment, then the change (``portal.segments.lists``)."""
from flask import render_template, request
from flask_login import current_user

from portal.errors import InputError
from portal.guests import bulk
from portal.models import Segment
from portal.segments import lists
from portal.segments.blueprint import bp
from portal.tenancy import current_org, get_or_404
from portal.transaction import commit_or_error


@bp.post("/from-guests")
def add_guests():
    org_id = current_org().id
    try:
        target = bulk.Target.from_form(request.form)
    except InputError as exc:
        return _panel(None, error=str(exc), status=422)
    total = bulk.count(org_id, target)
    if request.form.get("confirm") != "1":
        return _panel(target, total=total)
    if request.form.get("expected") != str(total):
        return _panel(target, total=total, status=409,
                      error="The list changed meanwhile: check the count and confirm again.")
    chosen = request.form.get("segment", "")
    segment = get_or_404(Segment, int(chosen)) if chosen.isdigit() else None
    result, error = commit_or_error(lambda: lists.add_guests(
        org_id, target, current_user.id, segment=segment, new_name=request.form.get("name", "")))
    if error:
        return _panel(target, total=total, error=error, status=422)
    segment, added = result
    return render_template("segments/_guests_added.html", segment=segment, added=added, total=total)


def _panel(target, *, total=None, error=None, status=200):
    return render_template("segments/_add_guests.html", target=target, total=total, error=error,
                           choices=lists.list_segments(current_org().id), chosen=request.form.get("segment", ""),
                           name=request.form.get("name", "")), status
