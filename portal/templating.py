"""App-wide template pieces, registered once by the app factory: the money and date filters every feature's
templates use, and what ``base.html`` needs (htmx's URL and hash, the current organization)."""
from flask import Flask, g, url_for

from portal import config as settings


def money(cents: int | None) -> str:
    if cents is None:
        return "—"
    sign = "-" if cents < 0 else ""
    return f"{sign}${abs(cents) // 100:,}.{abs(cents) % 100:02d}"


def utc(moment, with_time: bool = False) -> str:
    if moment is None:
        return "—"
    return moment.strftime("%Y-%m-%d %H:%M UTC" if with_time else "%Y-%m-%d")


def register(app: Flask) -> None:
    app.add_template_filter(money)
    app.add_template_filter(utc)

    @app.context_processor
    def base_page():
        local = app.config["HTMX_SOURCE"] == "local"
        url = url_for("htmx_asset") if local else settings.htmx_cdn_url()
        return {"htmx_url": url, "htmx_sri": settings.HTMX_SRI, "current_org": g.get("current_org")}
