from datetime import datetime, timezone

from flask import Response, abort, flash, redirect, render_template, request, stream_with_context, url_for
from flask_login import current_user

from portal.access import blocked_while_impersonating, owner_required
from portal.htmx import redirect_page, template, wants_fragment
from portal.errorpages import error_response
from portal.errors import InputError
from portal.extensions import db
from portal.guests import detail, export, service
from portal.guests import duplicates as possible_duplicates
from portal.guests.blueprint import bp
from portal.guests.figures import COUNTED, DEFINITIONS
from portal.guests.queries import SORTS, ListQuery, list_page, org_locations
from portal.models import Guest, GuestDuplicate, GuestMerge
from portal.tenancy import current_org, get_or_404
from portal.transaction import commit_or_error


def list_query() -> tuple[ListQuery, list]:
    locations = org_locations(current_org().id)
    query = ListQuery.from_args(request.args)
    if query.location_id is not None and query.location_id not in {loc.id for loc in locations}:
        abort(404)
    return query, locations


@bp.context_processor
def definitions():
    return {"definitions": DEFINITIONS, "counted_definition": COUNTED, "sorts": SORTS}


@bp.get("/")
def index():
    query, locations = list_query()
    page = list_page(current_org().id, query)
    today = datetime.now(timezone.utc).date()
    return render_template(template("guests/_list.html", "guests/index.html"), page=page, query=query,
                           locations=locations, today=today)


@bp.get("/export.csv")
@blocked_while_impersonating
def export_csv():
    query, _ = list_query()
    org = current_org()
    export.record_download(org.id, query)
    db.session.commit()
    rows = export.records(org.id, query)
    filename = f"guests-{org.slug}-{datetime.now(timezone.utc):%Y%m%d}.csv"
    return Response(stream_with_context(export.csv_chunks(rows)), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"',
                             "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})


@bp.get("/duplicates")
def duplicates():
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    groups, total = possible_duplicates.page_of_groups(current_org().id, page)
    return render_template("guests/duplicates.html", groups=groups, total=total, page=page,
                           has_next=page * possible_duplicates.PER_PAGE < total)


@bp.post("/duplicates/<int:duplicate_id>/dismiss")
@owner_required
def dismiss_duplicate(duplicate_id):
    duplicate = get_or_404(GuestDuplicate, duplicate_id)
    names = [get_or_404(Guest, guest_id).display_name for guest_id in (duplicate.guest_id, duplicate.other_guest_id)]
    _, error = commit_or_error(lambda: possible_duplicates.dismiss(duplicate, current_user.id))
    if error:
        return error_response(400, error)
    flash(f"{names[0]} and {names[1]} are marked as different people: they will not be listed again.", "success")
    return redirect_page(url_for("guests.duplicates"))


@bp.get("/<int:guest_id>")
def show(guest_id):
    guest = get_or_404(Guest, guest_id)
    entries, has_next = detail.timeline(guest)
    return render_template("guests/detail.html", guest=guest, profile=detail.profile(guest), entries=entries,
                           has_next=has_next, page=1, today=datetime.now(timezone.utc).date())


@bp.get("/<int:guest_id>/timeline")
def timeline(guest_id):
    guest = get_or_404(Guest, guest_id)
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    entries, has_next = detail.timeline(guest, page)
    return render_template("guests/_timeline.html", guest=guest, entries=entries, has_next=has_next, page=page)


@bp.post("/<int:guest_id>/tags")
def add_tag(guest_id):
    guest = get_or_404(Guest, guest_id)
    return _tags(guest, lambda: service.add_tag(guest, request.form.get("tag", ""), current_user.id))


@bp.post("/<int:guest_id>/tags/<int:tag_id>/delete")
def remove_tag(guest_id, tag_id):
    guest = get_or_404(Guest, guest_id)
    try:
        service.remove_tag(guest, tag_id)
    except InputError:
        abort(404)
    return _tags(guest, lambda: None)


def _tags(guest, change):
    _, error = commit_or_error(change)
    if not wants_fragment():
        return redirect(url_for("guests.show", guest_id=guest.id), code=303)
    return render_template("guests/_tags.html", guest=guest, tags=detail.tags(guest), error=error), \
        400 if error else 200


@bp.post("/<int:guest_id>/notes")
def add_note(guest_id):
    guest = get_or_404(Guest, guest_id)
    _, error = commit_or_error(lambda: service.add_note(guest, request.form.get("body", ""), current_user.id))
    if not wants_fragment():
        return redirect(url_for("guests.show", guest_id=guest.id), code=303)
    return render_template("guests/_notes.html", guest=guest, notes=detail.notes(guest), error=error), \
        400 if error else 200


@bp.post("/duplicates/<int:duplicate_id>/merge")
@owner_required
def merge(duplicate_id):
    duplicate = get_or_404(GuestDuplicate, duplicate_id)
    guest, error = commit_or_error(lambda: service.merge(duplicate, current_user.id))
    if error:
        return error_response(400, error)
    flash(f"Merged into one guest: {guest.display_name}. If they are different people, Unmerge on this page undoes "
          "it.", "success")
    return redirect_page(url_for("guests.show", guest_id=guest.id))  # both guests' pages changed


@bp.post("/merges/<int:merge_id>/undo")
@owner_required
def unmerge(merge_id):
    record = get_or_404(GuestMerge, merge_id)
    _, error = commit_or_error(lambda: service.unmerge(record, current_user.id))
    if error:
        return error_response(400, error)
    flash(f"The merge was undone: {record.email_a} and {record.email_b} are two guests again.", "success")
    return redirect_page(url_for("guests.duplicates"))

