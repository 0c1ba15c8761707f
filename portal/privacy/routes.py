"""Opt-out on the guest page, unsubscribe-list import, erasure (owners), and the guests' signed unsubscribe links."""
from flask import abort, redirect, render_template, request, url_for
from flask_login import current_user

from portal.access import blocked_while_impersonating, owner_required
from portal.errorpages import error_response
from portal.extensions import csrf, db
from portal.htmx import redirect_page, template, wants_fragment
from portal.models import Guest
from portal.privacy import consent, erasure
from portal.privacy.blueprint import bp, unsubscribe_bp
from portal.tenancy import current_org, get_or_404
from portal.transaction import commit_or_error

CONFIRM_WORD = "ERASE"
ONE_CLICK = "One-Click"


@bp.app_template_global("unsubscribe_url")
def unsubscribe_url(guest) -> str:
    return consent.unsubscribe_url(guest)


@bp.post("/<int:guest_id>/marketing")
def marketing(guest_id):
    """Set (opt_out=on) or clear (opt_out=off) the guest's marketing opt-out; marketers and owners."""
    guest = get_or_404(Guest, guest_id)
    choice = request.form.get("opt_out", "")
    error = "Choose whether the guest opts out."
    if choice in ("on", "off"):
        _, error = commit_or_error(lambda: consent.set_opt_out(guest, choice == "on"))
    if not wants_fragment():
        return redirect(url_for("guests.show", guest_id=guest.id), code=303)
    return render_template("privacy/_consent.html", guest=guest, error=error), 400 if error else 200


@bp.post("/<int:guest_id>/erase")
@owner_required
@blocked_while_impersonating
def erase(guest_id):
    """Owner only: erase the guest after typing the confirmation word."""
    guest = get_or_404(Guest, guest_id)
    if request.form.get("confirm", "").strip() != CONFIRM_WORD:
        return error_response(400, f"Type {CONFIRM_WORD} to confirm the erasure.")
    erasure.erase(guest, current_user.id)
    db.session.commit()
    return redirect_page(url_for("guests.show", guest_id=guest.id))


@bp.route("/unsubscribes", methods=["GET", "POST"])
def import_list():
    """Upload an existing unsubscribe list (CSV of emails and/or phones); marketers and owners."""
    result, error = None, None
    if request.method == "POST":
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            error = "Choose a CSV file to import."
        else:
            data = upload.stream.read(consent.MAX_IMPORT_BYTES + 1)
            result, error = commit_or_error(lambda: consent.import_unsubscribes(current_org().id, data))
    page = template("privacy/_import_result.html", "privacy/import.html")
    return render_template(page, result=result, error=error,
                           max_mb=consent.MAX_IMPORT_BYTES // (1024 * 1024)), 400 if error else 200


# --- signed links for guests (no session) ------------------------------------------------------------------------


def _guest_or_404(token: str) -> Guest:
    guest = consent.guest_for_token(token)
    if guest is None:
        abort(404)
    return guest


@unsubscribe_bp.get("/<token>")
def confirm(token):
    guest = _guest_or_404(token)
    return render_template("privacy/unsubscribe.html", token=token, done=guest.marketing_opt_out,
                           sender=consent.sender_name(guest))


@unsubscribe_bp.post("/<token>")
@csrf.exempt
def unsubscribe(token):
    """One click (RFC 8058: a POST with ``List-Unsubscribe=One-Click``, no session, no CSRF token) or the confirm
    page's button: the guest is opted out (idempotent)."""
    guest = _guest_or_404(token)
    one_click = request.form.get("List-Unsubscribe") == ONE_CLICK
    consent.set_opt_out(guest, True, source="one_click" if one_click else "link")
    db.session.commit()
    return render_template("privacy/unsubscribe.html", token=token, done=True, sender=consent.sender_name(guest))
