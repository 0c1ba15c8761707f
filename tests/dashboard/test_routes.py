"""The dashboard: figures of a date range and a location against the previous period, from dashboard_days."""
import re
from datetime import date, datetime, time, timedelta

import pytest

from portal.dashboard import charts
from portal.dashboard.service import Filters
from portal.dashboard.views import _headline_money
from portal.extensions import db
from portal.localtime import organization_zone
from portal.templating import money
from tests import factories
from tests.guests.builders import check, ingest, order, simple
from tests.guests.conftest import make_world


@pytest.fixture
def world(session):
    return make_world(session)


@pytest.fixture
def member(world):
    return factories.UserFactory(organization=world.org, role="marketer")


def values(html: str) -> dict:
    return dict(re.findall(r'data-testid="value-(\w+)">([^<]+)<', html))


def changes(html: str) -> dict:
    cards = re.findall(r'data-testid="card-(\w+)".*?<span class="change \w+">([^<]+)</span>', html, re.S)
    return dict(cards)


def today_at(world, days_ago: int, hour: int = 19) -> datetime:
    zone = organization_zone(db.session, world.org.id)
    return datetime.combine(datetime.now(zone).date() - timedelta(days=days_ago), time(hour), tzinfo=zone)


@pytest.fixture
def orders(world, session):
    world.location.time_zone = world.other_location.time_zone = "America/New_York"
    session.flush()
    ingest(world.location,
           simple(email="old@example.com", amount=20, opened=today_at(world, 40)),  # the period before
           simple(email="old@example.com", amount=30, opened=today_at(world, 2)),
           simple(email="new@example.com", amount=1000.5, opened=today_at(world, 1)),
           order(check(5, None), opened=today_at(world, 1)),  # no guest
           simple(email="void@example.com", amount=99, opened=today_at(world, 1), voided=True))
    ingest(world.other_location, simple(email="far@example.com", amount=12, opened=today_at(world, 3)))


def test_cards_show_the_period_against_the_previous_one_with_grouped_numbers(web, member, orders):
    web.login(member)
    html = web.client.get("/").get_data(as_text=True)
    assert values(html) == {"revenue": "$1,047.50", "orders": "4", "guests": "3", "new": "2", "returning": "1",
                            "frequency": "1.07", "capture": "75%"}
    # The period before (days 29..56 ago) had old@'s first order only.
    assert changes(html)["revenue"] == "+5138%" and changes(html)["orders"] == "+300%"
    assert changes(html)["capture"] == "-25 pts" and changes(html)["guests"] == "+200%"
    assert "Team: 1 active member" in html and html.index("Team:") > html.index('data-testid="card-revenue"')
    assert html.count("<svg") == 4 and 'style="' not in html and "<script>" not in html  # the CSP allows neither


def test_a_location_and_a_date_range_change_the_figures_and_stay_in_the_links(web, member, world, orders):
    web.login(member)
    html = web.client.get(f"/?range=7d&location={world.other_location.id}").get_data(as_text=True)
    assert values(html)["orders"] == "1" and values(html)["revenue"] == "$12.00"
    assert f'href="/guests/?sort=net_spend&amp;dir=desc&amp;location={world.other_location.id}"' in html
    assert f'hx-get="/?range=7d&amp;location={world.other_location.id}" hx-trigger="every 30s"' in html
    today = datetime.now(organization_zone(db.session, world.org.id)).date()
    custom = web.client.get(f"/?range=custom&from={today - timedelta(days=45)}&to={today - timedelta(days=30)}")
    assert values(custom.get_data(as_text=True))["orders"] == "1"


def test_an_htmx_change_gets_the_dashboard_fragment_and_bad_dates_say_why(web, member, orders):
    web.login(member)
    fragment = web.client.get("/?range=90d", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert '<section id="dashboard"' in fragment and "<html" not in fragment
    html = web.client.get("/?range=custom&from=2026-05-01&to=2026-04-01").get_data(as_text=True)
    assert "The range&#39;s first day is after its last day. Showing the last 28 days." in html
    assert values(html)["orders"] == "4"


def test_other_organizations_locations_are_ignored(web, member, orders, session):
    stranger = make_world(session)
    web.login(member)
    html = web.client.get(f"/?location={stranger.location.id}").get_data(as_text=True)
    assert values(html)["orders"] == "4"  # all of its own locations


def test_filters_read_from_the_url_fall_back_on_unknown_values():
    today = date(2026, 3, 31)
    assert Filters.from_args({"range": "bogus"}, today, set()) == Filters("28d", date(2026, 3, 4), today)
    custom = Filters.from_args({"range": "custom", "from": "2026-03-01", "to": "2026-03-10", "location": "7"},
                               today, {7})
    assert (custom.days, custom.previous, custom.location_id) == (10, (date(2026, 2, 19), date(2026, 2, 28)), 7)
    assert custom.args() == {"range": "custom", "from": "2026-03-01", "to": "2026-03-10", "location": 7}
    assert Filters.from_args({"range": "custom", "from": "2026-03-01", "to": "2026-04-02"}, today, set()).error


def test_charts_have_a_nice_axis_values_and_thinned_labels():
    assert [charts.nice_peak(v) for v in (0, 7, 10, 11, 180, 2085)] == [4, 8, 12, 12, 200, 3000]
    chart = charts.bar_chart("Orders", [(f"d{n}", [n * 100]) for n in range(28)], charts.count)
    assert [label for _, label in chart.ticks] == ["0", "750", "1,500", "2,250", "3,000"]
    assert [bar.value_label for bar in chart.bars if bar.value_label] == ["2,700"]  # the highest, also the last
    assert sum(bar.show_label for bar in chart.bars) <= charts.MAX_X_LABELS and chart.bars[-1].show_label
    unit, groups = charts.buckets([date(2026, 1, 1) + timedelta(days=n) for n in range(90)])
    assert unit == "week" and groups[0] == ("Dec 29", [date(2026, 1, 1) + timedelta(days=n) for n in range(4)])


def test_revenue_cards_drop_the_cents_once_they_would_not_fit():
    assert [_headline_money(c) for c in (104750, 999999, 30971350, None)] == [
        "$1,047.50", "$9,999.99", "$309,714", money(None)]
