"""Toast's webhook deliveries, answered at the WSGI layer in front of the Flask app.

A receipt is the busiest request the portal serves (hundreds a second in a dinner rush, beside the workers) and
needs nothing a page needs: no session, user, CSRF token, rate limit, security headers or error page. Flask's
request machinery and the app-wide hooks cost about as much CPU as storing the event, so ``POST PATH_PREFIX<token>``
skips them; every other request goes on to the Flask app unchanged.
"""
import json
import logging

from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wsgi import get_input_stream

from portal.webhooks.lane import signal_pending
from portal.webhooks.service import DUPLICATE, IGNORED, RECEIVED, UNAVAILABLE, receive

PATH_PREFIX = "/webhooks/toast/"
TOKEN_MAX = 128  # longer than any token we issue
RETRY_AFTER_S = 30

log = logging.getLogger("tablecloth.webhooks")


def webhook_url(base_url: str, token: str) -> str:
    """The address Toast delivers a connection's webhooks to."""
    return f"{base_url.rstrip('/')}{PATH_PREFIX}{token}"


class ToastWebhookIngress:
    """WSGI middleware: Toast webhook receipts for ``app``, everything else to ``wsgi_app`` (the app's own)."""

    def __init__(self, app, wsgi_app):
        self.app, self.wsgi_app = app, wsgi_app

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if environ.get("REQUEST_METHOD") != "POST" or not path.startswith(PATH_PREFIX):
            return self.wsgi_app(environ, start_response)
        token = path[len(PATH_PREFIX):]
        if not token or "/" in token:
            return self.wsgi_app(environ, start_response)  # not ours: the app's 404
        status, payload, headers = self._answer(environ, token[:TOKEN_MAX])
        body = json.dumps(payload).encode()
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body))),
                                *headers])
        return [body]

    def _answer(self, environ, token: str) -> tuple[str, dict, list]:
        try:
            data = get_input_stream(environ, max_content_length=self.app.config["MAX_CONTENT_LENGTH"]).read()
        except RequestEntityTooLarge:
            return "413 Request Entity Too Large", {"status": "too large"}, []
        with self.app.app_context():
            try:
                receipt = receive(token, data, environ.get("HTTP_TOAST_SIGNATURE"),
                                  environ.get("HTTP_TOAST_ATTEMPT_NUMBER"))
                if receipt.outcome == RECEIVED:
                    signal_pending(receipt.connection_id, receipt.org_id)  # stored: accepted even if Redis is down
            except Exception:  # a defect: Toast sends the event again; the log has the traceback, Toast does not
                log.exception("webhook receipt failed")
                return "500 Internal Server Error", {"status": "error"}, []
        if receipt.outcome == RECEIVED:
            return "202 Accepted", {"status": "accepted"}, []
        if receipt.outcome == UNAVAILABLE:
            return "503 Service Unavailable", {"status": "unavailable"}, [("Retry-After", str(RETRY_AFTER_S))]
        if receipt.outcome in (DUPLICATE, IGNORED):
            return "200 OK", {"status": receipt.outcome}, []
        log.info("webhook rejected (unknown token, bad signature or malformed envelope)")
        return "401 Unauthorized", {"status": "rejected"}, []
