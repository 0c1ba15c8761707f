"""``flask guests export``, ``flask guests rebuild`` and ``flask guests rebuild-dashboard``."""
import csv
import io
import json
from datetime import timedelta

import pytest
from sqlalchemy import delete, select

from portal.guests.export import FIELDS
from portal.models import DashboardDay, Guest, GuestCheck, GuestOrder, GuestTag
from tests.guests.builders import BASE, ingest, simple


@pytest.fixture
def cli(app, session):
    return app.test_cli_runner()


@pytest.fixture
def two_guests(world):
    ingest(world.location,
           simple(email="ann@example.com", first="Ann", phone="617 555 0101", amount=12.5, opened=BASE),
           simple(email="ann@example.com", amount=7.5, opened=BASE + timedelta(days=2), channel="delivery"),
           simple(email="bob@example.com", first="Bob", amount=3, opened=BASE + timedelta(days=1)))
    return world


def test_json_export_has_one_object_per_guest_with_exactly_the_fields(cli, two_guests):
    result = cli.invoke(args=["guests", "export", "--org", two_guests.org.slug, "--format", "json",
                              "--as-of", "2026-03-14"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [list(row) for row in rows] == [list(FIELDS)] * 2
    ann = next(row for row in rows if row["email"] == "ann@example.com")
    assert ann["guest_id"] == two_guests.guest("e:ann@example.com").id
    assert (ann["order_count"], ann["net_spend"], ann["avg_check"], ann["delivery_spend"]) == (2, 20.0, 10.0, 7.5)
    assert (ann["first_order_at"], ann["last_order_at"]) == ("2026-03-02T18:00:00Z", "2026-03-04T18:00:00Z")
    assert (ann["days_since_last_order"], ann["delivery_orders"], ann["takeout_orders"]) == (10, 1, 1)
    assert (ann["phone"], ann["locations"], ann["marketing_opt_out"]) == (
        "+16175550101", [two_guests.location.display_name], False)


def test_csv_export_is_the_default(cli, two_guests):
    result = cli.invoke(args=["guests", "export", "--org", two_guests.org.slug, "--as-of", "2026-03-14"])
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["email"] for r in rows] == ["ann@example.com", "bob@example.com"]
    assert rows[1]["days_since_last_order"] == "11" and rows[0]["net_spend"] == "20.00"


@pytest.mark.parametrize(("args", "message"), [
    (["--org", "nope"], "no organization with slug 'nope'"),
    (["--as-of", "14/03/2026"], "--as-of must be a date"),
    (["--segment", "no-such-segment"], "no segment with slug"),
    (["--format", "xml"], "Invalid value"),
])
def test_bad_input_is_one_line_and_non_zero(cli, two_guests, args, message):
    full = ["guests", "export"] + (["--org", two_guests.org.slug] if "--org" not in args else []) + args
    result = cli.invoke(args=full)
    assert result.exit_code != 0 and message in result.output + (result.stderr or "")
    assert "Traceback" not in result.output


def test_rebuild_recreates_profiles_from_stored_orders(cli, two_guests, session):
    ann = two_guests.guest("e:ann@example.com")
    session.add(GuestTag(org_id=two_guests.org.id, guest_id=ann.id, tag="vip"))
    session.flush()
    session.execute(delete(GuestOrder))
    session.execute(delete(GuestCheck))
    ann.order_count = 99
    session.flush()
    result = cli.invoke(args=["guests", "rebuild", "--org", two_guests.org.slug])
    assert result.exit_code == 0 and "applied 3 orders" in result.output
    session.expire_all()
    ann = two_guests.guest("e:ann@example.com")
    assert (ann.order_count, ann.net_spend_cents) == (2, 2000)
    assert session.scalar(select(GuestTag.tag).where(GuestTag.guest_id == ann.id)) == "vip"
    assert session.scalar(select(Guest.order_count).where(Guest.key == "e:bob@example.com")) == 1


def test_rebuild_dashboard_refills_the_daily_figures(cli, two_guests, session):
    session.execute(delete(DashboardDay))
    result = cli.invoke(args=["guests", "rebuild-dashboard", "--org", two_guests.org.slug])
    assert result.exit_code == 0 and "recomputed 3 days" in result.output
    assert session.scalars(select(DashboardDay.orders).order_by(DashboardDay.day)).all() == [1, 1, 1]
    result = cli.invoke(args=["guests", "rebuild-dashboard", "--org", "nope"])
    assert result.exit_code != 0 and "Traceback" not in result.output
