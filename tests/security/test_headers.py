"""Security headers on every response, and the request id."""
import re

import pytest

from portal import config
from portal.security import content_security_policy


def _directives(header: str) -> dict:
    return {part.split()[0]: part.split()[1:] for part in header.split("; ")}


@pytest.mark.parametrize("url", ["/login", "/no-such-page", "/static/app.css", "/vendor/htmx.min.js"])
def test_every_response_carries_the_headers(client, url):
    headers = client.get(url).headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "camera=()" in headers["Permissions-Policy"]
    csp = _directives(headers["Content-Security-Policy"])
    assert csp["script-src"] == ["'self'"]  # the test app serves htmx itself (HTMX_SOURCE=local)
    assert csp["style-src"] == ["'self'"] and csp["img-src"] == ["'self'", "data:"]
    assert csp["frame-ancestors"] == ["'none'"] and csp["form-action"] == ["'self'"]
    assert csp["base-uri"] == ["'none'"] and csp["object-src"] == ["'none'"]


def test_the_cdn_build_of_htmx_is_the_only_outside_script_source():
    csp = _directives(content_security_policy("cdn"))
    assert csp["script-src"] == ["'self'", config.HTMX_CDN_ORIGIN]
    assert config.htmx_cdn_url().startswith(config.HTMX_CDN_ORIGIN + "/")
    assert all("unsafe" not in value for values in csp.values() for value in values)


def _templates():
    from pathlib import Path

    return sorted((Path(__file__).resolve().parents[2] / "portal").rglob("*.html"))


def test_templates_have_no_inline_script():
    """The CSP would block it: scripts come only from a src, and no on*= handler attributes."""
    for path in _templates():
        html = path.read_text()
        assert re.findall(r"<script(?![^>]*\ssrc=)", html) == [], path
        assert re.findall(r"\son[a-z]+\s*=", html, re.I) == [], path


def test_templates_have_no_inline_style():
    """style-src 'self' drops <style> elements and style="" attributes: use classes in app.css."""
    offenders = [str(path) for path in _templates() if re.search(r"<style|\sstyle=", path.read_text())]
    assert offenders == [], f"inline styles (ignored under the CSP) to move to app.css: {offenders}"


def test_request_ids_come_back_and_odd_upstream_ones_are_replaced(client):
    generated = client.get("/login").headers["X-Request-ID"]
    assert len(generated) == 32
    assert client.get("/login", headers={"X-Request-ID": "router-id-12345678"}).headers["X-Request-ID"] == (
        "router-id-12345678")
    assert client.get("/login", headers={"X-Request-ID": "<script>"}).headers["X-Request-ID"] != "<script>"
