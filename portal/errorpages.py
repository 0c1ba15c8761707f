"""Error pages: a short human message, never a traceback or the input that caused it."""
from flask import render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException

from portal.dbutil import is_lock_error
from portal.extensions import db
from portal.htmx import is_htmx, template

MESSAGES = {
    400: "The request was not valid.",
    403: "You don't have permission to do that.",
    404: "There is nothing here.",
    405: "That action is not allowed here.",
    413: "The request is too large.",
    415: "That content type is not supported.",
    429: "Too many attempts. Wait a minute and try again.",
    500: "Something went wrong on our side. It has been logged.",
    503: "Tablecloth is busy with other work and could not finish this; nothing was changed. "
         "Try again in a few seconds.",
}
BUSY_RETRY_AFTER_S = 5


def register(app) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        app.logger.info("CSRF check failed on %s %s: %s", request.method, request.path, exc.description)
        return _render(400, "The form expired or was sent from elsewhere. Reload the page and try again.")

    @app.errorhandler(HTTPException)
    def http_error(exc):
        if is_lock_error(getattr(exc, "original_exception", None)):  # raised after the view (a commit in a hook)
            return busy(exc.original_exception)
        # Exceptions may carry a message written to be shown (e.g. the read-only support session's 403).
        return _render(exc.code or 500, getattr(exc, "public_message", None) or MESSAGES.get(exc.code, exc.name))

    @app.errorhandler(DBAPIError)
    def database_error(exc):
        return busy(exc) if is_lock_error(exc) else unhandled(exc)

    @app.errorhandler(Exception)
    def unhandled(exc):
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return _render(500, MESSAGES[500])

    def busy(exc):
        """Another writer held the database past the wait: 503, Retry-After, nothing half-written."""
        db.session.rollback()
        app.logger.warning("database busy on %s %s: %s", request.method, request.path, type(exc.orig).__name__)
        body, status = _render(503, MESSAGES[503])
        headers = {"Retry-After": str(BUSY_RETRY_AFTER_S)}
        if is_htmx():
            headers["HX-Push-Url"] = "false"  # the notice replaces nothing: the address stays the page's
        return body, status, headers


def _render(status: int, message: str):
    return render_template(template("_error_fragment.html", "error.html"), status=status, message=message), status
