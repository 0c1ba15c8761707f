"""App-wide template pieces, registered once by the app factory: the formats every feature's templates use, and
what ``base.html`` needs (htmx's URL and hash, the current organization).

One style everywhere: money "$1,234.50", counts grouped ("12,345"), dates "Mar 2, 2026", times
"Mar 2, 2026, 7:40 PM EST" in a location's time zone (``zone=``) or else the organization's
(``portal.localtime``), phones in national format at home and international with the country otherwise.
"""
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import Flask, g, has_request_context, url_for

from portal import config as settings
from portal.contacts import display_phone, is_relay_email
from portal.dates import date_text
from portal.extensions import db
from portal.localtime import UTC, organization_zone

# Where a zone's phone numbers are at home; every other zone (the Americas, by far most of Toast) counts as US,
# whose +1 plan Canada shares.
HOME_REGIONS = {"Europe/London": "GB", "Europe/Belfast": "GB", "Europe/Dublin": "IE"}


def money(cents: int | None) -> str:
    if cents is None:
        return "—"
    sign = "-" if cents < 0 else ""
    return f"{sign}${abs(cents) // 100:,}.{abs(cents) % 100:02d}"


def number(value: int | float | None) -> str:
    """A count with thousands grouped ("12,345"); "—" for none."""
    if value is None:
        return "—"
    return f"{value:,}" if isinstance(value, int) else f"{value:,.1f}"


def day(moment: datetime | date | None, zone: ZoneInfo | None = None) -> str:
    """"Mar 2, 2026": an instant on its local date (``zone``, else the organization's), a date as it is."""
    if moment is None:
        return "—"
    if isinstance(moment, datetime):
        moment = moment.astimezone(zone or current_zone())
    return date_text(moment)


def when(moment: datetime | None, zone: ZoneInfo | None = None) -> str:
    """"Mar 2, 2026, 7:40 PM EST": an instant in ``zone`` (a location's), else the organization's."""
    if moment is None:
        return "—"
    local = moment.astimezone(zone or current_zone())
    hour = local.hour % 12 or 12
    return f"{date_text(local)}, {hour}:{local:%M} {'AM' if local.hour < 12 else 'PM'} {local.tzname()}"


def phone(e164: str | None) -> str:
    return display_phone(e164, HOME_REGIONS.get(str(current_zone()), "US"))


def current_zone() -> ZoneInfo:
    """The current organization's time zone, looked up once per request; UTC outside one."""
    if not has_request_context() or g.get("current_org") is None:
        return UTC
    if "org_zone" not in g:
        g.org_zone = organization_zone(db.session, g.current_org.id)
    return g.org_zone


def register(app: Flask) -> None:
    for name, function in (("money", money), ("number", number), ("day", day), ("when", when),
                           ("phone", phone)):
        app.add_template_filter(function, name)
    app.add_template_test(is_relay_email, "relay_email")

    @app.context_processor
    def base_page():
        local = app.config["HTMX_SOURCE"] == "local"
        url = url_for("htmx_asset") if local else settings.htmx_cdn_url()
        return {"htmx_url": url, "htmx_sri": settings.HTMX_SRI, "current_org": g.get("current_org")}
