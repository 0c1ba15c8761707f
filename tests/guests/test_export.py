"""CSV download of the guest list: exact fields, streaming, no BOM, formula-safe cells, audit, list filters."""
import csv
import io
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from sqlalchemy import select

from portal.guests import export
from portal.models import AuditEvent, Guest
from tests import factories
from tests.guests.builders import BASE, check, customer, ingest, order, payment, simple

HEADER = ("guest_id,first_name,last_name,email,phone,order_count,net_spend,avg_check,total_tips,first_order_at,"
          "last_order_at,days_since_last_order,delivery_orders,takeout_orders,curbside_orders,dine_in_orders,"
          "delivery_spend,locations,favorite_item,marketing_opt_out,email_is_marketplace_relay,unsubscribe_url,"
          "rfm_group,p_alive,expected_visits_90d,"
          "predicted_value_12m")


def download(web, user, query=""):
    web.login(user)
    response = web.client.get(f"/guests/export.csv{query}")
    assert response.status_code == 200
    return response


def test_the_csv_has_exactly_the_fields_and_exact_money(web, world):
    ingest(world.location, order(check(22.1, customer(email="liz@example.com", first="Liz", last="Lane",
                                                      phone="617 555 0101"),
                                       payments=[payment(22.1, tip=3.3)]), channel="delivery", opened=BASE))
    ingest(world.other_location, simple(email="liz@example.com", amount=10.05, opened=BASE + timedelta(days=1)))
    marketer = factories.UserFactory(organization=world.org, role="marketer")
    response = download(web, marketer)
    body = response.get_data()
    assert not body.startswith(b"\xef\xbb\xbf")
    assert "Content-Length" not in response.headers  # streamed: the size was not known when sending began
    assert response.headers["Content-Type"].startswith("text/csv")
    assert response.headers["Content-Disposition"].startswith("attachment; filename=\"guests-")
    lines = body.decode("utf-8").splitlines()
    assert lines[0] == HEADER
    (row,) = list(csv.DictReader(io.StringIO(body.decode("utf-8"))))
    guest = world.guest("e:liz@example.com")
    assert row["guest_id"] == str(guest.id)
    assert (row["first_name"], row["email"], row["phone"]) == ("Liz", "liz@example.com", "+16175550101")
    assert (row["order_count"], row["net_spend"], row["avg_check"], row["total_tips"]) == ("2", "32.15", "16.08", "3.30")
    assert (row["first_order_at"], row["last_order_at"]) == ("2026-03-02T18:00:00Z", "2026-03-03T18:00:00Z")
    assert (row["delivery_orders"], row["takeout_orders"], row["delivery_spend"]) == ("1", "1", "22.10")
    assert row["locations"] == "Harbor;Uptown"  # names, not Toast GUIDs
    assert (row["favorite_item"], row["marketing_opt_out"]) == ("Burger", "false")
    assert int(row["days_since_last_order"]) == (datetime.now(timezone.utc).date() - date(2026, 3, 3)).days


def test_cells_that_look_like_formulas_are_escaped(web, world):
    ingest(world.location,
           simple(email="a@example.com", first="=HYPERLINK(\"http://x\")", last="+Plus"),
           simple(email="b@example.com", first="@SUM(A1)", last="-Minus"))
    owner = factories.UserFactory(organization=world.org, role="owner")
    rows = list(csv.DictReader(io.StringIO(download(web, owner, "?sort=name&dir=asc").get_data(as_text=True))))
    assert [(r["first_name"], r["last_name"]) for r in rows] == [
        ("'=HYPERLINK(\"http://x\")", "'+Plus"), ("'@SUM(A1)", "'-Minus")]
    assert export.safe_cell("\tcmd") == "'\tcmd" and export.safe_cell("plain") == "plain"


@pytest.mark.parametrize(("value", "cell"), [
    ("+16175550101", "+16175550101"),  # a valid phone is written as it is: SMS tools read it
    ("+442079460958", "+442079460958"),
    ("+1=cmd|' /C calc'!A0", "'+1=cmd|' /C calc'!A0"),  # not a phone: protected
    ("+123", "'+123"),
    ("-Minus", "'-Minus"),
    ("=1+2", "'=1+2"),
    ("\rx", "'\rx"),
    (Decimal("-12.50"), "-12.50"),  # money we wrote: a number, never a formula
    (-3, "-3"),
    (["Harbor", "Uptown"], "Harbor;Uptown"),
    ("Ann", "Ann"), (None, ""), (True, "true"),
])
def test_only_cells_that_could_be_formulas_are_protected(value, cell):
    assert export.safe_cell(value) == cell


def test_relay_addresses_are_left_out_and_every_guest_has_an_unsubscribe_link(web, world, app):
    ingest(world.location,
           simple(email="dd-0a1b2c3d4e@relay.example.com", first="Rita", last="R.", phone="617 555 0199"),
           simple(email="sam@example.com", first="Sam", last="Stone"))
    owner = factories.UserFactory(organization=world.org, role="owner")
    rows = {r["first_name"]: r for r in csv.DictReader(io.StringIO(
        download(web, owner, "?sort=name&dir=asc").get_data(as_text=True)))}
    assert (rows["Rita"]["email"], rows["Rita"]["email_is_marketplace_relay"]) == ("", "true")
    assert (rows["Sam"]["email"], rows["Sam"]["email_is_marketplace_relay"]) == ("sam@example.com", "false")
    link = rows["Sam"]["unsubscribe_url"]
    assert link.startswith(app.config["PORTAL_BASE_URL"] + "/u/")
    page = web.client.get(link.removeprefix(app.config["PORTAL_BASE_URL"]))
    assert page.status_code == 200  # the link opens the guest's own unsubscribe page
    assert rows["Rita"]["unsubscribe_url"] != link


def test_the_download_is_the_whole_filtered_list_and_is_audited(web, world, session):
    ingest(world.location, *[simple(email=f"p{n:02d}@example.com", first=f"P{n:02d}") for n in range(60)])
    ingest(world.location, simple(email="other@example.com", first="Quinn"))
    owner = factories.UserFactory(organization=world.org, role="owner")
    rows = list(csv.DictReader(io.StringIO(download(web, owner, "?q=p").get_data(as_text=True))))
    assert len(rows) == 60 and "Quinn" not in {r["first_name"] for r in rows}  # every page of the list
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "export.downloaded"))
    assert event.org_id == world.org.id and event.details["kind"] == "guests" and event.details["searched"] is True


def test_the_export_view_is_marked_as_a_bulk_pii_export(app):
    assert app.view_functions["guests.export_csv"].blocked_while_impersonating is True


def test_records_narrow_to_a_subquery_of_guest_ids(world, session):
    ingest(world.location, simple(email="a@example.com"), simple(email="b@example.com"))
    wanted = select(Guest.id).where(Guest.email == "b@example.com")
    rows = list(export.records(world.org.id, guest_ids=wanted, as_of=date(2026, 3, 12)))
    assert [(r["email"], r["days_since_last_order"]) for r in rows] == [("b@example.com", 10)]
    assert list(rows[0]) == list(export.FIELDS)
