"""Error pages: a short human message, never a traceback or the input that caused it."""
from flask import render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

MESSAGES = {
    400: "The request was not valid.",
    403: "You don't have permission to do that.",
    404: "There is nothing here.",
    405: "That action is not allowed here.",
    413: "The request is too large.",
    415: "That content type is not supported.",
    429: "Too many attempts. Wait a minute and try again.",
    500: "Something went wrong on our side. It has been logged.",
}


def register(app) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        app.logger.info("CSRF check failed on %s %s: %s", request.method, request.path, exc.description)
        return _render(400, "The form expired or was sent from elsewhere. Reload the page and try again.")

    @app.errorhandler(HTTPException)
    def http_error(exc):
        # Exceptions may carry a message written to be shown (e.g. the read-only support session's 403).
        return _render(exc.code or 500, getattr(exc, "public_message", None) or MESSAGES.get(exc.code, exc.name))

    @app.errorhandler(Exception)
    def unhandled(exc):
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return _render(500, MESSAGES[500])


def _render(status: int, message: str):
    template = "_error_fragment.html" if request.headers.get("HX-Request") else "error.html"
    return render_template(template, status=status, message=message), status
