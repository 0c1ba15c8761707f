"""Right to erasure: contact data, notes and identifiers go; figures stay as anonymous history; later orders with
the same identifiers never bring the guest back; audited with the guest id only."""
import json

import pytest
from sqlalchemy import func, select

from portal.guests import service as guest_service
from portal.models import AuditEvent, ErasedIdentifier, Guest, GuestCheck, GuestNote, GuestTag, Order, OrderCheck
from portal.models import WebhookEvent
from portal.models.guest_links import GuestFact
from portal.privacy import erasure
from tests.guests.builders import BASE, check, customer, ingest, order, simple

PII = ("Ann", "Archer", "ann@example.com", "6175550101", "+16175550101", "cust-ann", "1 Main St")


@pytest.fixture
def ann(world, session):
    ingest(world.location, order(check(30, customer(email="Ann@Example.com", phone="617 555 0101", guid="cust-ann",
                                                    first="Ann", last="Archer")),
                                 channel="delivery", delivery={"address1": "1 Main St", "city": "Boston"},
                                 order_guid="order-ann-1"))
    ingest(world.other_location, simple(email="ann@example.com", amount=20, opened=BASE.replace(day=5)))
    guest = world.guest("e:ann@example.com")
    guest_service.add_tag(guest, "vip", None)
    guest_service.add_note(guest, "Allergic to nuts; call Ann", None)
    return guest


def test_an_owner_erases_a_guest_and_the_figures_stay(web, world, owner, ann, session):
    figures = (ann.order_count, ann.net_spend_cents, ann.location_count)
    assert figures == (2, 5000, 2)
    web.login(owner)
    response = web.post(f"/guests/{ann.id}/erase", {"confirm": "ERASE"})
    assert response.status_code == 303
    session.expire_all()
    guest = session.get(Guest, ann.id)
    assert guest.erased_at is not None and guest.display_name == f"Erased guest #{ann.id}"
    assert (guest.first_name, guest.last_name, guest.email, guest.phone, guest.customer_guid) == (None,) * 5
    assert guest.key == f"x:{ann.id}" and guest.search_name == "" and guest.marketing_opt_out
    assert (guest.order_count, guest.net_spend_cents, guest.location_count) == figures
    assert session.scalar(select(func.count()).select_from(GuestNote)) == 0
    assert session.scalar(select(func.count()).select_from(GuestTag)) == 0
    facts = select(GuestFact.kind).where(GuestFact.guest_id == ann.id, GuestFact.kind.in_(("address", "vehicle")))
    assert session.scalars(facts).all() == []
    for row in session.scalars(select(GuestCheck).where(GuestCheck.guest_id == ann.id)):
        assert (row.email, row.phone, row.customer_guid, row.first_name, row.last_name, row.address) == (None,) * 6
    for row in session.scalars(select(OrderCheck).where(OrderCheck.org_id == world.org.id)):
        assert (row.customer_email, row.customer_phone, row.customer_guid, row.customer_first_name) == (None,) * 4
    assert all(o.delivery_info is None for o in session.scalars(select(Order).where(Order.org_id == world.org.id)))
    kinds = sorted(session.scalars(select(ErasedIdentifier.kind).where(ErasedIdentifier.org_id == world.org.id)))
    assert kinds == ["email", "guid", "phone"]
    stored = " ".join(session.scalars(select(ErasedIdentifier.digest)))
    assert not any(value.lower() in stored.lower() for value in PII)
    (event,) = session.scalars(select(AuditEvent).where(AuditEvent.action == "guest.erased")).all()
    assert event.target_id == str(ann.id) and event.details == {"guest_id": ann.id}
    page = web.client.get(f"/guests/{ann.id}").get_data(as_text=True)
    assert f"Erased guest #{ann.id}" in page and not any(value in page for value in PII)


@pytest.mark.parametrize("payload", [
    dict(email="ANN@example.com "), dict(phone="(617) 555-0101"), dict(cust_guid="cust-ann"),
    dict(email="new.address@example.com", phone="617-555-0101"),  # an erased phone taints the whole check
])
def test_later_orders_with_an_erased_identifier_never_bring_the_guest_back(world, ann, session, payload):
    erasure.erase(ann)
    before = {g.id for g in world.guests()}
    written = ingest(world.location, simple(first="Ann", last="Archer", amount=7, **payload))
    assert {g.id for g in world.guests()} == before  # no new profile
    assert session.scalar(select(func.count()).select_from(GuestCheck).where(GuestCheck.order_id.in_(written))) == 0
    raw = session.scalars(select(OrderCheck).where(OrderCheck.order_id.in_(written))).all()
    assert all(r.customer_email is None and r.customer_phone is None and r.customer_first_name is None for r in raw)
    session.refresh(ann)
    assert ann.order_count == 2 and ann.email is None


def test_a_resent_order_of_the_erased_guest_and_a_rebuild_keep_it_anonymous(world, ann, session):
    erasure.erase(ann)
    ingest(world.location, order(check(30, customer(email="ann@example.com", first="Ann", last="Archer")),
                                 channel="delivery", delivery={"address1": "1 Main St"}, order_guid="order-ann-1"))
    guest_service.rebuild(world.org.id)
    guests = world.guests()
    assert [g.id for g in guests] == [ann.id]
    session.refresh(ann)
    assert ann.email is None and ann.first_name is None and ann.order_count == 2
    assert session.scalar(select(Order.delivery_info).where(Order.guid == "order-ann-1")) is None


def test_other_guests_and_other_organizations_are_untouched(world, ann, session):
    ingest(world.location, simple(email="ben@example.com", first="Ben"))
    from tests.guests.conftest import make_world

    stranger = make_world(session)
    ingest(stranger.location, simple(email="ann@example.com", first="Ann"))
    erasure.erase(ann)
    ingest(stranger.location, simple(email="ann@example.com", amount=3))
    assert stranger.guest("e:ann@example.com").order_count == 2
    assert world.guest("e:ben@example.com").first_name == "Ben"


def test_processed_webhook_bodies_of_the_guests_orders_are_blanked(world, ann, session):
    body = json.dumps({"details": {"order": {"guid": "order-ann-1", "customer": {"email": "ann@example.com"}}}})
    processed = WebhookEvent(org_id=world.org.id, connection_id=world.location.connection_id, event_guid="ev-1",
                             event_type="ORDER_UPDATED", order_guid="order-ann-1", body=body, status="processed",
                             processed_at=BASE)
    other = WebhookEvent(org_id=world.org.id, connection_id=world.location.connection_id, event_guid="ev-2",
                         event_type="ORDER_UPDATED", order_guid="someone-else", body=body, status="processed",
                         processed_at=BASE)
    session.add_all([processed, other])
    session.flush()
    erasure.erase(ann)
    session.refresh(processed)
    session.refresh(other)
    assert processed.body == "{}" and other.body == body


def test_only_owners_erase_and_only_with_the_confirmation(web, world, owner, marketer, ann, session):
    web.login(marketer)
    assert web.post(f"/guests/{ann.id}/erase", {"confirm": "ERASE"}).status_code == 403
    assert "Erase guest" not in web.client.get(f"/guests/{ann.id}").get_data(as_text=True)
    owner_web = type(web)(web.client.application.test_client())
    owner_web.login(owner)
    assert "Erase guest" in owner_web.client.get(f"/guests/{ann.id}").get_data(as_text=True)
    assert owner_web.post(f"/guests/{ann.id}/erase", {"confirm": "erase it"}).status_code == 400
    assert owner_web.client.post(f"/guests/{ann.id}/erase", data={"confirm": "ERASE"}).status_code == 400  # no CSRF
    session.refresh(ann)
    assert ann.erased_at is None and ann.email == "ann@example.com"


def test_an_erased_guest_cannot_be_opted_back_in(web, world, owner, ann, session):
    erasure.erase(ann)
    web.login(owner)
    assert web.htmx_post(f"/guests/{ann.id}/marketing", {"opt_out": "off"}).status_code == 400
    session.refresh(ann)
    assert ann.marketing_opt_out


def test_the_keyed_hash_depends_on_the_key(app, session):
    first = erasure.digest("email", "ann@example.com")
    app.config["ERASURE_HASH_KEY"] = "a dedicated key"
    try:
        assert erasure.digest("email", "ann@example.com") != first
    finally:
        del app.config["ERASURE_HASH_KEY"]
    assert len(first) == 64 and "ann" not in first
