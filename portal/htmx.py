"""htmx requests, decided in one place for every view.

Two questions: did htmx send the request (then answers that steer the browser apply: ``HX-Redirect``,
``HX-Push-Url``), and does it want a fragment? A history restore (the back button after htmx's history cache
missed) is sent by htmx too, but it replaces the whole body with the answer: it needs the full page.
"""
from flask import Response, redirect, request


def is_htmx() -> bool:
    """Sent by htmx (``HX-Request``), history restores included."""
    return bool(request.headers.get("HX-Request"))


def wants_fragment() -> bool:
    """htmx will swap the answer into part of the page (not a history restore)."""
    return is_htmx() and not request.headers.get("HX-History-Restore-Request")


def template(fragment: str, page: str) -> str:
    """The fragment for an htmx swap, else the full page (which includes the fragment)."""
    return fragment if wants_fragment() else page


def redirect_page(url: str) -> Response:
    """A full page load of ``url``: ``HX-Redirect`` for htmx (which would otherwise swap that page into a
    fragment), else a redirect (303 after a write, so the browser follows it with a GET)."""
    if is_htmx():
        return Response(status=204, headers={"HX-Redirect": url})
    return redirect(url, code=302 if request.method in ("GET", "HEAD", "OPTIONS") else 303)
