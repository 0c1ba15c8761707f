"""Tablecloth: guest engagement for restaurant groups on Toast."""
import os
from pathlib import Path

from flask import Flask, abort, g, redirect, request, send_file, url_for
from werkzeug.middleware.proxy_fix import ProxyFix
from flask_login import current_user

from portal import config as settings
from portal import security, sqlite, templating
from portal.extensions import csrf, db, keep_settings, limiter, login_manager, migrate

MIGRATIONS_DIR = str(Path(__file__).resolve().parent.parent / "migrations")


def create_app(overrides: dict | None = None) -> Flask:
    """Build the portal. ``overrides`` replace settings read from the environment (tests use it)."""
    app = Flask(__name__, instance_path=str(settings.INSTANCE_DIR))
    if overrides is None and os.environ.get("FLASK_RUN_FROM_CLI") == "true":
        settings.load_env_file(settings.dev_env_file())  # a `flask` command after `make run`: its dev secrets
    app.config.update(settings.from_env())
    app.config.update(overrides or {})
    if app.config["PORTAL_REQUIRE_SECRETS"] and not app.config.get("TESTING"):
        settings.check_secrets(app.config)
    keep_settings(app)

    if app.config["TRUSTED_PROXIES"]:
        # Behind a load balancer the client's address and scheme arrive in X-Forwarded-* headers: the login
        # rate limit and the audit trail need the client's, not the proxy's. Never trusted without a proxy.
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    sqlite.install()
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = sqlite.engine_options(app.config)
    security.register(app)  # first: size, type and UTF-8 checks run before CSRF or any view reads the body
    from portal.privacy import logs as privacy_logs

    privacy_logs.install(app)  # before db.init_app: SQL errors never carry parameters (guest PII)
    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR, render_as_batch=True)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.user_loader(_load_user)

    _register_blueprints(app)
    _register_request_hooks(app)
    templating.register(app)
    _register_commands(app)
    return app


def _load_user(login_id: str):
    """Session ids are "<user id>:<session token>": a rotated token (password change) ends old sessions."""
    from portal.models import User

    user_id, _, token = (login_id or "").partition(":")
    if not user_id.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.is_active or user.session_token != token:
        return None
    return user


def _register_blueprints(app: Flask) -> None:
    from portal.accounts import bp as accounts_bp
    from portal.audit import bp as audit_bp
    from portal.auth import bp as auth_bp
    from portal.connections import bp as connections_bp
    from portal.dashboard import bp as dashboard_bp
    from portal.guests.blueprint import bp as guests_bp
    from portal.impersonation import bp as impersonation_bp
    from portal.insights import bp as insights_bp
    from portal.segments.blueprint import bp as segments_bp
    from portal.support import bp as support_bp
    from portal.webhooks.ingress import ToastWebhookIngress

    app.wsgi_app = ToastWebhookIngress(app, app.wsgi_app)
    for blueprint in (auth_bp, dashboard_bp, accounts_bp, support_bp, connections_bp):
        app.register_blueprint(blueprint)
    for blueprint in (impersonation_bp, audit_bp):
        app.register_blueprint(blueprint)
    app.register_blueprint(segments_bp)
    app.register_blueprint(guests_bp)
    app.register_blueprint(insights_bp)
    from portal.privacy.blueprint import bp as privacy_bp, unsubscribe_bp

    app.register_blueprint(privacy_bp)
    app.register_blueprint(unsubscribe_bp)
    from portal.audiences import bp as audiences_bp, webhooks_bp as audience_webhooks_bp

    app.register_blueprint(audiences_bp)
    app.register_blueprint(audience_webhooks_bp)


def _register_request_hooks(app: Flask) -> None:
    from portal import errorpages
    from portal.impersonation import guard as impersonation_guard

    @app.before_request
    def set_current_org():
        g.current_org = impersonation_guard.resolve_current_org(current_user)

    @app.before_request
    def force_password_change():
        allowed = {"auth.password", "auth.logout", "static", "htmx_asset"}
        if current_user.is_authenticated and current_user.must_change_password and request.endpoint not in allowed:
            return redirect(url_for("auth.password"))
        return None

    @app.get("/vendor/htmx.min.js", endpoint="htmx_asset")
    def htmx_asset():
        path = Path(app.config["HTMX_LOCAL_PATH"])
        if app.config["HTMX_SOURCE"] != "local" or not path.is_file():
            abort(404)
        return send_file(path, mimetype="text/javascript", max_age=86400)

    impersonation_guard.register(app)  # after set_current_org: expiry, read-only and audit of support sessions
    errorpages.register(app)


def _register_commands(app: Flask) -> None:
    """The ``flask`` command groups. A command that needs a feature above its group's joins the group here."""
    from portal.accounts.cli import demo_cli, org_cli, user_cli
    from portal.audiences.cli import audiences_cli
    from portal.connections.cli import connect
    from portal.guests.cli import guests_cli
    from portal.impersonation.cli import grant_support_write
    from portal.segments.cli import export_guests, segments_cli
    from portal.sync.cli import toast_cli

    user_cli.add_command(grant_support_write)
    toast_cli.add_command(connect)
    guests_cli.add_command(export_guests)
    for group in (org_cli, user_cli, demo_cli, toast_cli, segments_cli, guests_cli, audiences_cli):
        app.cli.add_command(group)
