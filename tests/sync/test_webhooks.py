"""Toast order webhooks: signed, stored once, processed with the newest-wins upsert, PII fetched again."""
import copy
import json
import uuid

from sqlalchemy import func, select

from portal.models import Guest, Location, Order, OrderCheck, WebhookEvent
from portal.toast.sandbox.webhooks import order_updated_envelope, send_order_updated
from portal.toast.signature import sign
from tests.sync.conftest import sandbox_orders, work


def webhook_path(connected) -> str:
    return f"/webhooks/toast/{connected['connection'].webhook_token}"


def signed_post(client, path, secret, envelope, attempt="1"):
    body = json.dumps(envelope).encode()
    headers = {"Toast-Signature": sign(secret, body, envelope["timestamp"]), "Toast-Attempt-Number": attempt,
               "Content-Type": "application/json"}
    return client.post(path, data=body, headers=headers)


def a_takeout_order(sandbox, restaurant_guid):
    return next(o for o in sandbox_orders(sandbox, restaurant_guid)
                if any((c.get("customer") or {}).get("firstName") for c in o["checks"]) and not o["deleted"])


def test_a_retried_event_is_stored_and_processed_once(app, connected, committed, redis_conn):
    sandbox, location = connected["sandbox"], connected["locations"][0]
    envelope = order_updated_envelope(location.guid, a_takeout_order(sandbox, location.guid), str(uuid.uuid4()),
                                      sandbox.now_ms)
    client = app.test_client()
    first = signed_post(client, webhook_path(connected), sandbox.webhook_secret, envelope)
    retry = signed_post(client, webhook_path(connected), sandbox.webhook_secret, envelope, attempt="2")
    assert (first.status_code, retry.status_code, retry.get_json()["status"]) == (202, 200, "duplicate")
    committed.rollback()  # end the test's read snapshot: the requests committed on their own connections
    assert committed.scalar(select(func.count(WebhookEvent.id))) == 1
    work(redis_conn)
    assert committed.scalar(select(func.count(Order.id))) == 1
    assert committed.scalar(select(WebhookEvent.status)) == "processed"


def test_stripped_order_is_fetched_again_for_its_guest_details(live_server, connected, committed, redis_conn):
    sandbox, location = connected["sandbox"], connected["locations"][0]
    order = a_takeout_order(sandbox, location.guid)
    delivery = send_order_updated(live_server + webhook_path(connected), sandbox.webhook_secret, location.guid, order,
                                  retry_delays=())
    assert delivery.delivered and delivery.status == 202
    committed.rollback()
    body = json.loads(committed.scalar(select(WebhookEvent.body)))
    assert all("firstName" not in (c.get("customer") or {}) for c in body["details"]["order"]["checks"])
    work(redis_conn)
    names = committed.scalars(select(OrderCheck.customer_first_name).where(OrderCheck.customer_first_name.is_not(None)))
    expected = {c["customer"]["firstName"] for c in order["checks"] if (c.get("customer") or {}).get("firstName")}
    assert set(names) == expected
    assert set(committed.scalars(select(Guest.first_name))) >= expected  # the fetched names reach the profile


def test_a_stale_event_never_overwrites_a_newer_order(app, connected, committed, redis_conn):
    sandbox, location = connected["sandbox"], connected["locations"][0]
    current = a_takeout_order(sandbox, location.guid)
    newer = copy.deepcopy(current)
    newer["modifiedDate"] = "2099-01-01T00:00:00.000+0000"
    newer["voided"] = True
    client = app.test_client()
    for order in (newer, current):  # the newer copy arrives first
        for check in order["checks"]:
            check["customer"] = None  # nothing stripped: processed from the event itself
        order["deliveryInfo"] = None
        envelope = order_updated_envelope(location.guid, order, str(uuid.uuid4()), sandbox.now_ms)
        assert signed_post(client, webhook_path(connected), sandbox.webhook_secret, envelope).status_code == 202
    work(redis_conn)
    stored = committed.scalar(select(Order).where(Order.guid == current["guid"]))
    assert stored.voided is True


def test_bad_signature_or_unknown_token_is_401_and_stores_nothing(app, connected, committed):
    sandbox, location = connected["sandbox"], connected["locations"][0]
    envelope = order_updated_envelope(location.guid, a_takeout_order(sandbox, location.guid), str(uuid.uuid4()),
                                      sandbox.now_ms)
    client = app.test_client()
    assert signed_post(client, webhook_path(connected), "not-the-secret", envelope).status_code == 401
    assert signed_post(client, "/webhooks/toast/unknown-token", sandbox.webhook_secret, envelope).status_code == 401
    assert client.post(webhook_path(connected), data=b"not json",
                       headers={"Toast-Signature": "x"}).status_code == 401
    committed.rollback()
    assert committed.scalar(select(func.count(WebhookEvent.id))) == 0


def test_events_for_locations_not_connected_are_acknowledged_and_ignored(app, connected, committed):
    sandbox = connected["sandbox"]
    location = connected["locations"][1]
    committed.get(Location, location.id).active = False
    committed.commit()
    envelope = order_updated_envelope(location.guid, a_takeout_order(sandbox, location.guid), str(uuid.uuid4()),
                                      sandbox.now_ms)
    response = signed_post(app.test_client(), webhook_path(connected), sandbox.webhook_secret, envelope)
    assert (response.status_code, response.get_json()["status"]) == (200, "ignored")
    committed.rollback()
    assert committed.scalar(select(func.count(WebhookEvent.id))) == 0


def test_an_event_whose_job_never_ran_is_picked_up_by_the_sweep(app, connected, committed, redis_conn):
    from datetime import timedelta

    from workers.webhooks import requeue_pending_events

    sandbox, location = connected["sandbox"], connected["locations"][0]
    order = a_takeout_order(sandbox, location.guid)
    envelope = order_updated_envelope(location.guid, order, str(uuid.uuid4()), sandbox.now_ms)
    assert signed_post(app.test_client(), webhook_path(connected), sandbox.webhook_secret, envelope).status_code == 202
    redis_conn.flushdb()  # the queued job is lost, as if Redis had died after the event was stored
    committed.rollback()
    event = committed.scalar(select(WebhookEvent))
    event.created_at -= timedelta(minutes=5)
    committed.commit()
    assert requeue_pending_events() == 1
    work(redis_conn)
    assert committed.scalar(select(WebhookEvent.status)) == "processed"
    assert committed.scalar(select(func.count(Order.id)).where(Order.guid == order["guid"])) == 1


def test_finished_events_are_pruned_after_the_retention_period_and_others_kept(app, connected, committed):
    from datetime import timedelta

    from portal.models.base import utcnow
    from workers.webhooks import prune_finished_events

    connection, now = connected["connection"], utcnow()
    days = app.config["WEBHOOK_RETENTION_DAYS"]

    def event(status, age_days):
        stamp = now - timedelta(days=age_days)
        return WebhookEvent(org_id=connection.org_id, connection_id=connection.id, event_guid=str(uuid.uuid4()),
                            event_type="order_updated", body="{}", status=status, created_at=stamp,
                            processed_at=stamp if status in ("processed", "ignored") else None)

    old = [event("processed", days + 1), event("ignored", days + 2)]
    kept = [event("processed", days - 1), event("failed", days + 5), event("received", days + 5)]
    committed.add_all(old + kept)
    committed.commit()
    kept_ids = sorted(e.id for e in kept)
    assert prune_finished_events(batch=1) == 2  # batches of one: the loop runs until nothing is left
    committed.rollback()
    assert committed.scalars(select(WebhookEvent.id).order_by(WebhookEvent.id)).all() == kept_ids
