from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from portal.accounts.service import change_password
from portal.auth import bp
from portal.auth.forms import ChangePasswordForm, LoginForm
from portal.auth.service import LoginRefused, authenticate
from portal.errors import InputError
from portal.extensions import db, limiter


def safe_next(target: str | None) -> str | None:
    """Only same-site relative paths are followed after sign-in (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None


def home_for(user) -> str:
    return url_for("support.tenants") if user.is_support else url_for("dashboard.index")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: _login_limit(), methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        try:
            user = authenticate(form.email.data, form.password.data)
        except LoginRefused as exc:
            error = str(exc)
        else:
            session.clear()  # a fresh session on sign-in: no fixation
            login_user(user)
            db.session.commit()
            if user.must_change_password:
                flash("Choose your own password to continue.", "info")
                return redirect(url_for("auth.password"))
            return redirect(safe_next(request.args.get("next")) or home_for(user))
    status = 200 if not (form.is_submitted() and (error or form.errors)) else 400
    return render_template("auth/login.html", form=form, error=error), status


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.post("/logout")
@login_required
def logout():
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"), code=303)


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def password():
    form = ChangePasswordForm()
    error = None
    if form.validate_on_submit():
        try:
            change_password(current_user, form.current_password.data, form.new_password.data)
        except InputError as exc:
            error = str(exc)
        else:
            db.session.commit()
            login_user(current_user._get_current_object())  # the id now carries the new session token; this session stays valid
            flash("Password changed. Your other sessions were signed out.", "success")
            return redirect(home_for(current_user), code=303)
    status = 400 if form.is_submitted() and (error or form.errors) else 200
    return render_template("auth/password.html", form=form, error=error), status
