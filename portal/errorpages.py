"""Error answers: a short human message, never a traceback or the input that caused it.

A full page for a browser's own request; for an htmx swap, a dismissible notice sent to ``#notices`` (``HX-Retarget``)
whatever the request targeted, so a refused or failed action is never silent. Views that refuse a change with a
message of their own answer through ``error_response`` too; validation errors stay in the view's own fragment,
beside their fields.
"""
from flask import render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException

from portal.dbutil import is_lock_error
from portal.extensions import db
from portal.htmx import wants_fragment

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
# The address stays the page's: a notice replaces nothing.
NOTICE_HEADERS = {"HX-Retarget": "#notices", "HX-Reswap": "innerHTML", "HX-Push-Url": "false"}


def register(app) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        app.logger.info("CSRF check failed on %s %s: %s", request.method, request.path, exc.description)
        return error_response(400, "The form expired or was sent from elsewhere. Reload the page and try again.")

    @app.errorhandler(HTTPException)
    def http_error(exc):
        if is_lock_error(getattr(exc, "original_exception", None)):  # raised after the view (a commit in a hook)
            return busy(exc.original_exception)
        # Exceptions may carry a message written to be shown (e.g. the read-only support session's 403).
        return error_response(exc.code or 500, getattr(exc, "public_message", None) or MESSAGES.get(exc.code, exc.name))

    @app.errorhandler(DBAPIError)
    def database_error(exc):
        return busy(exc) if is_lock_error(exc) else unhandled(exc)

    @app.errorhandler(Exception)
    def unhandled(exc):
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, MESSAGES[500])

    def busy(exc):
        """Another writer held the database past the wait: 503, Retry-After, nothing half-written."""
        db.session.rollback()
        app.logger.warning("database busy on %s %s: %s", request.method, request.path, type(exc.orig).__name__)
        body, status, headers = error_response(503, MESSAGES[503])
        return body, status, {**headers, "Retry-After": str(BUSY_RETRY_AFTER_S)}


def error_response(status: int, message: str):
    """The answer refusing a request with ``message``: a notice for an htmx swap, else the error page."""
    if wants_fragment():
        return render_template("_notice.html", status=status, message=message), status, NOTICE_HEADERS
    return render_template("error.html", status=status, message=message), status, {}
