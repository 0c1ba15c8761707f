"""Request hardening shared by every route: body size and type limits, UTF-8 checks, request ids, security headers.

The request checks run before anything else reads the body (CSRF included), so a bad request is refused with
413/415/400 and no view, hook or form ever sees it.
"""
import re
import uuid
from urllib.parse import unquote_to_bytes

from flask import Flask, abort, current_app, g, request

from portal import config as settings

FORM_MIMETYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# An upstream id (Heroku's router sets X-Request-ID) is kept only when it looks like one.
REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"


def accepts(*mimetypes: str):
    """Let a view take request bodies of these types besides forms (e.g. ``@accepts("application/json")``).

    Any other body type sent to a write endpoint is refused with 415 before the view runs.
    """

    def mark(view):
        view.accepted_mimetypes = FORM_MIMETYPES | frozenset(mimetypes)
        return view

    return mark


def register(app: Flask) -> None:
    """Install the request checks (call before the CSRF extension, so they run first) and the response headers."""
    csp = content_security_policy(app.config["HTMX_SOURCE"])

    @app.before_request
    def check_request():
        g.request_id = _request_id()
        _check_size()
        _check_type()
        _check_utf8()

    @app.after_request
    def security_headers(response):
        response.headers["Content-Security-Policy"] = csp
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
        response.headers["Permissions-Policy"] = PERMISSIONS_POLICY
        response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
        # A page and its htmx fragment share a URL (hx-push-url): caches, the browser's own included, must keep them
        # apart, or Back after leaving the page shows the bare fragment.
        response.vary.add("HX-Request")
        if app.config.get("SESSION_COOKIE_SECURE"):
            response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        if g.get("request_id"):
            response.headers["X-Request-ID"] = g.request_id
        return response


def content_security_policy(htmx_source: str) -> str:
    """Only our own origin, plus the pinned htmx CDN when htmx is loaded from it. No inline script or style."""
    script_src = "'self'" + (f" {settings.HTMX_CDN_ORIGIN}" if htmx_source == "cdn" else "")
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src {script_src}",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self'",
            "object-src 'none'",
            "frame-ancestors 'none'",
            "form-action 'self'",
            "base-uri 'none'",
        ]
    )


def _request_id() -> str:
    upstream = request.headers.get("X-Request-ID", "")
    return upstream if REQUEST_ID_PATTERN.match(upstream) else uuid.uuid4().hex


def _check_size() -> None:
    """413 for bodies over the limit: forms get MAX_FORM_CONTENT_LENGTH, other bodies MAX_CONTENT_LENGTH."""
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    if request.mimetype in FORM_MIMETYPES:
        limit = min(limit, current_app.config["MAX_FORM_CONTENT_LENGTH"])
    # Also caps bodies sent without a Content-Length (chunked): reading stops at the limit with a 413.
    request.max_content_length = limit
    if request.content_length is not None and request.content_length > limit:
        abort(413)


def _check_type() -> None:
    """415 for a write request whose body is not a form, unless its view declared the type with @accepts.

    Why: a JSON, XML or text/plain body on an endpoint built for forms is never a real browser form post.
    """
    if request.method in SAFE_METHODS or not _has_body():
        return
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    if request.mimetype not in getattr(view, "accepted_mimetypes", FORM_MIMETYPES):
        abort(415)


def _has_body() -> bool:
    return bool(request.content_length) or "chunked" in request.headers.get("Transfer-Encoding", "").lower()


def _check_utf8() -> None:
    """400 for text that is not UTF-8 or holds a NUL, in the query string or a form.

    Why: werkzeug silently drops or mangles bytes that are not UTF-8, and PostgreSQL refuses NUL in text
    (a 500 deep inside a query). No form field of ours ever needs either.
    """
    if not _is_clean_urlencoded(request.query_string):
        abort(400)
    if request.method in SAFE_METHODS:
        return
    if request.mimetype == "application/x-www-form-urlencoded":
        if not _is_clean_urlencoded(request.get_data(cache=True)):
            abort(400)
    elif request.mimetype == "multipart/form-data":
        # Werkzeug decodes parts with errors="replace": a replacement character is how bad bytes show up.
        values = [*request.form.keys(), *request.form.values(), *(f.filename or "" for f in request.files.values())]
        if any("\ufffd" in value or "\x00" in value for value in values):
            abort(400)


def _is_clean_urlencoded(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
        for pair in raw.split(b"&"):
            if "\x00" in unquote_to_bytes(pair.replace(b"+", b" ")).decode("utf-8"):
                return False
    except UnicodeDecodeError:
        return False
    return True
