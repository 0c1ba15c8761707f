"""Marketing opt-out: by hand on the guest page, by importing an unsubscribe list, by a signed one-click link;
honoured by exports; audited with ids and counts only."""
import csv
import io

import pytest
from sqlalchemy import select

from portal.errors import InputError
from portal.models import AuditEvent, Guest, MarketingSuppression
from portal.privacy import consent
from portal.segments.exports import segment_export
from tests import factories
from tests.guests.builders import ingest, simple


def audit_rows(session, org_id, action):
    return session.scalars(select(AuditEvent).where(AuditEvent.org_id == org_id, AuditEvent.action == action)
                           .order_by(AuditEvent.id)).all()


@pytest.fixture
def ann(world):
    ingest(world.location, simple(email="ann@example.com", phone="617 555 0101", first="Ann", last="Archer"))
    ingest(world.other_location, simple(email="ann@example.com", amount=20))
    return world.guest("e:ann@example.com")


def test_a_marketer_opts_a_guest_out_and_back_in_on_the_guest_page(web, world, marketer, ann, session):
    web.login(marketer)
    page = web.client.get(f"/guests/{ann.id}").get_data(as_text=True)
    assert "Opt out of marketing" in page and consent.unsubscribe_token(ann) in page
    response = web.htmx_post(f"/guests/{ann.id}/marketing", {"opt_out": "on"})
    assert response.status_code == 200
    assert "Opted out of marketing" in response.get_data(as_text=True)
    session.refresh(ann)
    assert ann.marketing_opt_out is True
    assert web.htmx_post(f"/guests/{ann.id}/marketing", {"opt_out": "on"}).status_code == 200  # idempotent
    assert web.post(f"/guests/{ann.id}/marketing", {"opt_out": "off"}).status_code == 303
    session.refresh(ann)
    assert ann.marketing_opt_out is False
    (out,) = audit_rows(session, world.org.id, "guest.opted_out")
    (back,) = audit_rows(session, world.org.id, "guest.opted_in")
    assert out.target_id == str(ann.id) and out.details == {"guest_id": ann.id, "source": "manual"}
    assert back.actor_user_id == marketer.id


def test_a_bad_choice_or_no_csrf_token_changes_nothing(web, marketer, ann, session):
    web.login(marketer)
    assert web.htmx_post(f"/guests/{ann.id}/marketing", {"opt_out": "maybe"}).status_code == 400
    assert web.client.post(f"/guests/{ann.id}/marketing", data={"opt_out": "on"}).status_code == 400
    session.refresh(ann)
    assert ann.marketing_opt_out is False


def _upload(web, text: str, name="list.csv"):
    return web.client.post("/guests/unsubscribes", data={"csrf_token": web.token,
                                                         "file": (io.BytesIO(text.encode()), name)},
                           content_type="multipart/form-data", headers={"HX-Request": "true"})


def test_importing_an_unsubscribe_list_normalizes_like_identity_resolution_and_is_idempotent(
        web, world, marketer, ann, session):
    ingest(world.location, simple(phone="+44 20 7946 0958", first="Bo", last="Brit"))
    ingest(world.location, simple(email="cy@example.com"))
    text = ("Email,Phone,Name\n"
            " ANN@Example.COM ,,Ann\n"        # matches by email (trimmed, lower-cased)
            ",+442079460958,Bo\n"              # matches by E.164 phone
            "nobody@example.com,(617) 555-0199,\n"  # valid, no guest
            "not-an-email,12,\n")              # invalid twice
    web.login(marketer)
    response = _upload(web, text)
    assert response.status_code == 200, response.get_data(as_text=True)
    html = response.get_data(as_text=True)
    assert "<strong>2</strong> matched" in html and "<strong>2</strong> not matched" in html
    assert "<strong>2</strong> invalid" in html and "2 guests newly opted out" in html
    opted = {g.key: g.marketing_opt_out for g in world.guests()}
    assert opted == {"e:ann@example.com": True, "p:+442079460958": True, "e:cy@example.com": False}
    again = _upload(web, text).get_data(as_text=True)
    assert "0 guests newly opted out" in again
    first, second = audit_rows(session, world.org.id, "guest.opt_outs_imported")
    assert first.details == {"matched": 2, "not_matched": 2, "invalid": 2, "opted_out": 2}
    assert second.details["opted_out"] == 0
    assert "ann" not in repr(first.details).lower()


def test_a_list_without_a_header_is_read_cell_by_cell(world, ann, session):
    result = consent.import_unsubscribes(world.org.id, b"6175550101\nsomeone@example.com\n")
    assert (result.matched, result.not_matched, result.invalid, result.opted_out) == (1, 1, 0, 1)
    session.refresh(ann)
    assert ann.marketing_opt_out


@pytest.mark.parametrize("data", [b"", b"  \n", b"\xff\xfe\x00bad", b"a" * (consent.MAX_IMPORT_BYTES + 1)])
def test_empty_undecodable_or_oversized_lists_are_refused(world, data):
    with pytest.raises(InputError):
        consent.import_unsubscribes(world.org.id, data)


def test_the_import_page_refuses_a_missing_file_and_only_touches_its_own_organization(web, world, owner, session):
    stranger = factories.OrganizationFactory()
    other = Guest(org_id=stranger.id, key="e:ann@example.com", email="ann@example.com", has_email=True)
    session.add(other)
    session.flush()
    web.login(owner)
    assert web.client.get("/guests/unsubscribes").status_code == 200
    assert web.post("/guests/unsubscribes", {}).status_code == 400
    assert _upload(web, "ann@example.com\n").status_code == 200
    session.refresh(other)
    assert other.marketing_opt_out is False


def test_the_one_click_link_works_without_a_session_or_csrf_token(app, world, ann, session):
    token = consent.unsubscribe_token(ann)
    with app.test_request_context():
        assert consent.unsubscribe_url(ann).endswith(f"/u/{token}")
    guest_client = app.test_client()
    page = guest_client.get(f"/u/{token}")
    assert page.status_code == 200 and "Stop receiving marketing" in page.get_data(as_text=True)
    assert "ann@example.com" not in page.get_data(as_text=True)
    # RFC 8058: what a mail provider sends, with no cookie and no CSRF token.
    response = app.test_client().post(f"/u/{token}", data="List-Unsubscribe=One-Click",
                                      content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    session.refresh(ann)
    assert ann.marketing_opt_out is True
    (event,) = audit_rows(session, world.org.id, "guest.opted_out")
    assert event.details == {"guest_id": ann.id, "source": "one_click"} and event.actor_user_id is None
    assert app.test_client().post(f"/u/{token}").status_code == 200  # again: nothing changes, no new audit row
    assert len(audit_rows(session, world.org.id, "guest.opted_out")) == 1
    assert "unsubscribed" in app.test_client().get(f"/u/{token}").get_data(as_text=True)


@pytest.mark.parametrize("mangle", [lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"), lambda t: "x" + t,
                                    lambda t: "garbage"])
def test_a_bad_token_is_a_404(app, ann, session, mangle):
    token = mangle(consent.unsubscribe_token(ann))
    assert app.test_client().get(f"/u/{token}").status_code == 404
    assert app.test_client().post(f"/u/{token}", data={"List-Unsubscribe": "One-Click"}).status_code == 404
    session.refresh(ann)
    assert ann.marketing_opt_out is False


def test_a_token_signed_with_another_salt_or_naming_another_organization_is_refused(app, world, ann, session):
    from itsdangerous import URLSafeSerializer

    other_salt = URLSafeSerializer(app.config["SECRET_KEY"], salt="something-else").dumps([world.org.id, ann.id])
    wrong_org = URLSafeSerializer(app.config["SECRET_KEY"], salt="unsubscribe").dumps([world.org.id + 999, ann.id])
    for token in (other_salt, wrong_org):
        assert app.test_client().post(f"/u/{token}").status_code == 404


def test_segment_exports_leave_opted_out_guests_out_at_every_location(world, ann, session):
    ingest(world.location, simple(email="ben@example.com"))
    consent.set_opt_out(ann, True)
    segment = factories.SegmentFactory(organization=world.org)
    result = segment_export(segment)
    emails = [row["email"] for row in result.rows]
    assert emails == ["ben@example.com"] and result.excluded == 1
    with_them = segment_export(segment, include_opted_out=True)
    assert sorted(row["email"] for row in with_them.rows) == ["ann@example.com", "ben@example.com"]


def test_the_guest_csv_marks_opted_out_guests(web, world, owner, ann):
    consent.set_opt_out(ann, True)
    web.login(owner)
    rows = list(csv.DictReader(io.StringIO(web.client.get("/guests/export.csv").get_data(as_text=True))))
    assert [(r["email"], r["marketing_opt_out"]) for r in rows] == [("ann@example.com", "true")]


# --- the suppression list -------------------------------------------------------------------------------------


def test_a_listed_contact_who_orders_later_arrives_opted_out(world, session):
    consent.import_unsubscribes(world.org.id, b"email,phone\nLATER@example.com,\n,(617) 555-0177\n")
    ingest(world.location, simple(email="later@example.com"), simple(phone="+1 617-555-0177"),
           simple(email="free@example.com"))
    opted = {g.key: g.marketing_opt_out for g in world.guests()}
    assert opted == {"e:later@example.com": True, "p:+16175550177": True, "e:free@example.com": False}
    sources = [row.details["source"] for row in audit_rows(session, world.org.id, "guest.opted_out")]
    assert sources == ["suppression list", "suppression list"]
    stored = session.scalars(select(MarketingSuppression.digest).where(MarketingSuppression.org_id == world.org.id))
    assert all("later" not in value and "555" not in value for value in stored)  # keyed hashes only


def test_a_guest_who_opts_out_stays_out_under_a_new_profile_until_opted_back_in(world, ann, session):
    consent.set_opt_out(ann, True)
    # A new profile carrying Ann's phone under another email (two emails are never merged automatically).
    ingest(world.location, simple(email="ann.work@example.com", phone="617-555-0101", amount=7))
    work = world.guest("e:ann.work@example.com")
    assert work.id != ann.id and work.marketing_opt_out
    consent.set_opt_out(ann, False)  # back in: her contacts leave the list, later orders stay opted in
    ingest(world.location, simple(email="ann@example.com", amount=9))
    session.refresh(ann)
    assert not ann.marketing_opt_out
    assert session.scalar(select(MarketingSuppression.id).where(MarketingSuppression.org_id == world.org.id)) is None


def test_the_list_belongs_to_one_organization(world, session):
    from tests.guests.conftest import make_world

    consent.import_unsubscribes(world.org.id, b"shared@example.com\n")
    other = make_world(session)
    ingest(other.location, simple(email="shared@example.com"))
    assert not other.guest("e:shared@example.com").marketing_opt_out


def test_the_unsubscribe_page_names_the_restaurant_group(app, world, ann):
    page = app.test_client().get(f"/u/{consent.unsubscribe_token(ann)}").get_data(as_text=True)
    assert f"<title>Unsubscribe · {world.org.name}</title>" in page
    assert f"marketing messages from {world.org.name}?" in page
    assert "Tablecloth" not in page
