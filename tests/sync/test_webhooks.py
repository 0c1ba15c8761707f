"""Toast order webhooks: signed, stored once, drained in batches on their own queue (one job per connection at a
time), coalesced per order, PII fetched again once per order, poison events given up after a bounded number of
attempts without holding the others back."""
import copy
import json
import logging
import sqlite3
import uuid
from collections import Counter
from datetime import timedelta
from types import SimpleNamespace

import pytest
from redis import Redis
from rq import Queue, SimpleWorker
from rq.job import Job
from rq.registry import ScheduledJobRegistry
from sqlalchemy import func, select, update
from sqlalchemy.exc import OperationalError

from portal.extensions import db
from portal.jobs import WEBHOOKS
from portal.models import Guest, Location, Order, OrderCheck, WebhookEvent
from portal.models.base import utcnow
from portal.models.sync import MAX_EVENT_FAILURES
from portal.sync.store import store_orders
from portal.toast.signature import sign
from portal.webhooks import lane as webhook_lane
from portal.webhooks import serving
from tests.sync.conftest import sandbox_orders
from toast_sandbox.api_common import ApiError
from toast_sandbox.webhooks import order_updated_envelope, send_order_updated


@pytest.fixture
def lane(app, connected, committed):
    """Plain values of the connected organization, with the test session's transaction ended: on SQLite it would
    hold the write lock that the requests and jobs need."""
    sandbox = connected["sandbox"]
    values = SimpleNamespace(
        app=app, client=app.test_client(), sandbox=sandbox, secret=sandbox.webhook_secret,
        path=f"/webhooks/toast/{connected['connection'].webhook_token}", connection_id=connected["connection"].id,
        org_id=connected["org"].id, guids=[location.guid for location in connected["locations"]],
    )
    committed.commit()
    return values


def signed_post(lane, envelope, attempt="1", secret=None, path=None):
    body = json.dumps(envelope).encode()
    headers = {"Toast-Signature": sign(secret or lane.secret, body, envelope["timestamp"]),
               "Toast-Attempt-Number": attempt, "Content-Type": "application/json"}
    return lane.client.post(path or lane.path, data=body, headers=headers)


def envelope_for(lane, restaurant_guid, order, event_guid=None):
    return order_updated_envelope(restaurant_guid, order, event_guid or str(uuid.uuid4()), lane.sandbox.now_ms)


def takeout_orders(sandbox, restaurant_guid, count):
    """Orders with a named customer: Toast strips the name from webhooks, so each must be fetched again."""
    found = [order for order in sandbox_orders(sandbox, restaurant_guid)
             if any((c.get("customer") or {}).get("firstName") for c in order["checks"]) and not order["deleted"]]
    assert len(found) >= count, "the sandbox has too few takeout orders"
    return found[:count]


def without_guest(order):
    """A copy with nothing Toast strips (no customer, no delivery address): stored straight from the event."""
    plain = copy.deepcopy(order)
    for check in plain["checks"]:
        check["customer"] = None
    plain["deliveryInfo"] = None
    return plain


def newer(order, **changes):
    later = copy.deepcopy(order)
    later.update({"modifiedDate": "2099-01-01T00:00:00.000+0000", **changes})
    return later


def drain_lane(redis_conn):
    """Run the queued webhook jobs in this process (a real RQ worker, a real Redis), from a fresh session."""
    db.session.remove()
    SimpleWorker([Queue(WEBHOOKS, connection=redis_conn)], connection=redis_conn).work(burst=True)


@pytest.fixture
def drain_runs(monkeypatch):
    """The drain runs that happened (one per drain job that got the connection's lease)."""
    runs = []
    real = webhook_lane.drain

    def counted(*args, **kwargs):
        result = real(*args, **kwargs)
        runs.append(result)
        return result

    monkeypatch.setattr(webhook_lane, "drain", counted)
    return runs


@pytest.fixture
def order_fetches(monkeypatch, lane):
    """``GET /orders/v2/orders/{guid}`` requests the sandbox served (or refused), by order GUID."""
    fetched = Counter()
    real = lane.sandbox.store.find

    def counted(index, guid):
        fetched[guid] += 1
        return real(index, guid)

    monkeypatch.setattr(lane.sandbox.store, "find", counted)
    return fetched


def events(committed):
    committed.rollback()  # a fresh snapshot: jobs and requests committed on their own connections
    return committed.scalars(select(WebhookEvent).order_by(WebhookEvent.id)).all()


def test_a_burst_over_locations_drains_in_one_job_with_one_fetch_per_order(lane, committed, redis_conn,
                                                                           drain_runs, order_fetches):
    stripped, plain, expected_names = [], [], set()
    for guid in lane.guids:
        orders = takeout_orders(lane.sandbox, guid, 10)
        for order in orders[:6]:  # original, an exact retry and a newer version each: one fetch per order
            envelope = envelope_for(lane, guid, order)
            assert signed_post(lane, envelope).status_code == 202
            assert signed_post(lane, envelope, attempt="2").get_json()["status"] == "duplicate"
            assert signed_post(lane, envelope_for(lane, guid, newer(order))).status_code == 202
            stripped.append(order["guid"])
            expected_names |= {c["customer"]["firstName"] for c in order["checks"] if c.get("customer")}
        for order in orders[6:]:  # nothing stripped: the newer version arrives first and must win
            current = without_guest(order)
            for version in (newer(current, voided=True), current):
                assert signed_post(lane, envelope_for(lane, guid, version)).status_code == 202
            plain.append(order["guid"])
    drain_lane(redis_conn)
    assert len(drain_runs) == 1 and not drain_runs[0].more
    assert order_fetches == Counter(stripped)  # each stripped order fetched once, the others not at all
    stored = events(committed)
    assert len(stored) == 2 * len(stripped) + 2 * len(plain)  # exact retries stored once
    assert {event.status for event in stored} == {"processed"}
    voided = dict(committed.execute(select(Order.guid, Order.voided)).all())
    assert set(voided) == set(stripped + plain) and all(voided[guid] for guid in plain)
    names = set(committed.scalars(select(OrderCheck.customer_first_name)
                                  .where(OrderCheck.customer_first_name.is_not(None))))
    assert names == expected_names  # the fetched guest details, as far as the profiles
    assert set(committed.scalars(select(Guest.first_name))) >= expected_names
    assert set(committed.scalars(select(Location.last_synced_at))) != {None}


def test_stripped_order_is_fetched_again_for_its_guest_details(live_server, lane, committed, redis_conn):
    order = takeout_orders(lane.sandbox, lane.guids[0], 1)[0]
    delivery = send_order_updated(live_server + lane.path, lane.secret, lane.guids[0], order, retry_delays=())
    assert delivery.delivered and delivery.status == 202
    body = json.loads(events(committed)[0].body)
    assert all("firstName" not in (c.get("customer") or {}) for c in body["details"]["order"]["checks"])
    drain_lane(redis_conn)
    names = committed.scalars(select(OrderCheck.customer_first_name).where(OrderCheck.customer_first_name.is_not(None)))
    assert set(names) == {c["customer"]["firstName"] for c in order["checks"] if c.get("customer")}


def test_poison_events_are_given_up_after_the_limit_and_never_hold_the_others_back(lane, committed, redis_conn,
                                                                                   monkeypatch, drain_runs):
    monkeypatch.setattr("portal.webhooks.batches.RETRY_DELAY_S", 0.0)  # retried at once: all attempts in one job
    guid = lane.guids[0]
    orders = takeout_orders(lane.sandbox, guid, 4)
    good, fails_to_store = [without_guest(order) for order in orders[:2]], without_guest(orders[2])
    unknown = orders[3] | {"guid": str(uuid.uuid4())}  # stripped, and Toast answers 404 for it
    undecodable = envelope_for(lane, guid, good[0])
    undecodable["details"]["order"] = {**undecodable["details"]["order"], "guid": str(uuid.uuid4()),
                                       "checks": "not a list"}

    def store_refusing_one(location, orders):
        if any(order.guid == fails_to_store["guid"] for order in orders):
            raise ValueError("a bug met by this order only")
        return store_orders(location, orders)

    monkeypatch.setattr("portal.webhooks.batches.store_orders", store_refusing_one)
    for envelope in (undecodable, envelope_for(lane, guid, unknown), envelope_for(lane, guid, fails_to_store),
                     *(envelope_for(lane, guid, order) for order in good)):
        assert signed_post(lane, envelope).status_code == 202
    drain_lane(redis_conn)
    assert len(drain_runs) == 1
    by_order = {event.order_guid: event for event in events(committed)}
    assert [by_order[order["guid"]].status for order in good] == ["processed", "processed"]
    poison = [by_order[undecodable["details"]["order"]["guid"]], by_order[unknown["guid"]],
              by_order[fails_to_store["guid"]]]
    assert [(event.status, event.failed_attempts) for event in poison] == [("failed", MAX_EVENT_FAILURES)] * 3
    assert [event.error for event in poison] == [
        "PayloadError: the webhook body does not decode at checks",
        "FatalAPIError: Toast answered HTTP 404 to the order fetch",
        "ValueError: the order could not be stored",
    ]
    assert all(event.processed_at is not None and event.retry_at is None for event in poison)
    assert set(committed.scalars(select(Order.guid))) == {order["guid"] for order in good}


def test_toast_throttling_leaves_events_pending_uncounted_and_a_delayed_drain_comes_back(lane, committed, redis_conn,
                                                                                         monkeypatch):
    monkeypatch.setitem(lane.app.config, "TOAST_MAX_RETRIES", 0)  # the client gives up at once: no backoff here
    real_find = lane.sandbox.store.find

    def throttled(index, guid):
        raise ApiError(429, "Rate limit exceeded", headers={"Retry-After": "3"})

    monkeypatch.setattr(lane.sandbox.store, "find", throttled)
    order = takeout_orders(lane.sandbox, lane.guids[0], 1)[0]
    before = utcnow()
    assert signed_post(lane, envelope_for(lane, lane.guids[0], order)).status_code == 202
    drain_lane(redis_conn)
    [event] = events(committed)
    assert (event.status, event.failed_attempts) == ("received", 0)  # transient: not a failed attempt
    assert before + timedelta(seconds=3) <= event.retry_at <= utcnow() + timedelta(seconds=3)  # Toast's Retry-After
    scheduled = ScheduledJobRegistry(WEBHOOKS, connection=redis_conn)
    [retry] = scheduled.get_job_ids()  # the drain that comes back
    assert abs(scheduled.get_scheduled_time(retry) - event.retry_at) < timedelta(seconds=1)
    monkeypatch.setattr(lane.sandbox.store, "find", real_find)
    committed.execute(update(WebhookEvent).values(retry_at=utcnow()))  # it is due: run it now, not in 3 s
    committed.commit()
    scheduled.remove(retry)
    Queue(WEBHOOKS, connection=redis_conn).enqueue_job(Job.fetch(retry, connection=redis_conn))
    drain_lane(redis_conn)
    assert events(committed)[0].status == "processed"


@pytest.mark.parametrize("arrives", ["before the lease is released", "after the lease is released"])
def test_an_event_stored_while_the_drain_finishes_is_not_lost(lane, committed, redis_conn, monkeypatch, drain_runs,
                                                              arrives):
    first, late = takeout_orders(lane.sandbox, lane.guids[0], 2)
    real_release = webhook_lane._release
    late_posts = []

    def release_with_a_late_event(redis, connection_id, job_id):
        # The drain has read its last batch: an event stored now is one the drain did not see.
        if arrives.startswith("before") and not late_posts:
            late_posts.append(signed_post(lane, envelope_for(lane, lane.guids[0], late)))
        real_release(redis, connection_id, job_id)
        if arrives.startswith("after") and not late_posts:
            late_posts.append(signed_post(lane, envelope_for(lane, lane.guids[0], late)))

    monkeypatch.setattr(webhook_lane, "_release", release_with_a_late_event)
    assert signed_post(lane, envelope_for(lane, lane.guids[0], first)).status_code == 202
    drain_lane(redis_conn)
    assert [response.status_code for response in late_posts] == [202]
    assert [event.status for event in events(committed)] == ["processed", "processed"]
    assert len(drain_runs) == 2  # the late event got a drain of its own
    assert redis_conn.get(f"webhooks:{lane.connection_id}:lease") is None


def test_an_event_committed_late_under_a_lower_id_is_not_left_behind(lane, committed, redis_conn, monkeypatch,
                                                                     drain_runs):
    """On PostgreSQL an event's id is taken at its INSERT: a receiver can commit it after the drain has read
    events with higher ids. Staged here with an explicit lower id, inserted while the drain fetches."""
    first, late = takeout_orders(lane.sandbox, lane.guids[0], 2)
    assert signed_post(lane, envelope_for(lane, lane.guids[0], first)).status_code == 202
    lower_id = events(committed)[0].id
    committed.execute(update(WebhookEvent).values(id=lower_id + 1))  # the late one will take the id below it
    committed.commit()
    real_find = lane.sandbox.store.find

    def find_while_a_late_event_commits(index, guid):
        if guid == first["guid"]:
            body = json.dumps(envelope_for(lane, lane.guids[0], late))
            with lane.app.app_context(), db.engine.begin() as conn:  # as the receiver would: commit, then flag
                conn.execute(WebhookEvent.__table__.insert().values(
                    id=lower_id, org_id=lane.org_id, connection_id=lane.connection_id, event_guid=str(uuid.uuid4()),
                    event_type="order_updated", restaurant_guid=lane.guids[0], order_guid=late["guid"], body=body,
                    status="received", attempt=1, failed_attempts=0, created_at=utcnow()))
            redis_conn.set(f"webhooks:{lane.connection_id}:pending", 1)
        return real_find(index, guid)

    monkeypatch.setattr(lane.sandbox.store, "find", find_while_a_late_event_commits)
    drain_lane(redis_conn)
    assert [(event.id, event.status) for event in events(committed)] == [
        (lower_id, "processed"), (lower_id + 1, "processed")]
    assert len(drain_runs) == 1  # found by the same run's last read from the first pending event


def test_a_stale_event_never_overwrites_a_newer_order_from_an_earlier_drain(lane, committed, redis_conn):
    current = without_guest(takeout_orders(lane.sandbox, lane.guids[0], 1)[0])
    for version in (newer(current, voided=True), current):  # in separate drains this time
        assert signed_post(lane, envelope_for(lane, lane.guids[0], version)).status_code == 202
        drain_lane(redis_conn)
    committed.rollback()
    assert committed.scalar(select(Order.voided).where(Order.guid == current["guid"])) is True


def test_bad_signature_or_unknown_token_is_401_and_stores_nothing(lane, committed):
    envelope = envelope_for(lane, lane.guids[0], takeout_orders(lane.sandbox, lane.guids[0], 1)[0])
    assert signed_post(lane, envelope, secret="not-the-secret").status_code == 401
    assert signed_post(lane, envelope, path="/webhooks/toast/unknown-token").status_code == 401
    assert lane.client.post(lane.path, data=b"not json", headers={"Toast-Signature": "x"}).status_code == 401
    assert events(committed) == []


def test_events_for_locations_not_connected_are_acknowledged_and_ignored(lane, committed):
    committed.execute(update(Location).where(Location.guid == lane.guids[1]).values(active=False))
    committed.commit()
    envelope = envelope_for(lane, lane.guids[1], takeout_orders(lane.sandbox, lane.guids[1], 1)[0])
    response = signed_post(lane, envelope)
    assert (response.status_code, response.get_json()["status"]) == (200, "ignored")
    assert events(committed) == []


def test_a_database_that_cannot_store_the_event_answers_503_with_retry_after(lane, committed, monkeypatch):
    def locked(*args, **kwargs):
        raise OperationalError("INSERT INTO webhook_events ...", {}, sqlite3.OperationalError("database is locked"))

    monkeypatch.setattr("portal.webhooks.service.insert_unless_exists", locked)
    response = signed_post(lane, envelope_for(lane, lane.guids[0], takeout_orders(lane.sandbox, lane.guids[0], 1)[0]))
    assert (response.status_code, response.headers["Retry-After"], response.get_json()) == (
        503, "30", {"status": "unavailable"})
    assert events(committed) == []


def test_the_receipt_answers_only_posts_to_a_token_and_refuses_oversized_bodies(lane, committed, monkeypatch):
    envelope = envelope_for(lane, lane.guids[0], takeout_orders(lane.sandbox, lane.guids[0], 1)[0])
    assert lane.client.get(lane.path).status_code == 404  # not a receipt: the portal's own page for it
    assert signed_post(lane, envelope, path=lane.path + "/more").status_code in (404, 415)  # the app's refusal
    monkeypatch.setitem(lane.app.config, "MAX_CONTENT_LENGTH", len(json.dumps(envelope)) - 1)
    response = signed_post(lane, envelope)
    assert (response.status_code, response.get_json()) == (413, {"status": "too large"})
    assert events(committed) == []


BAD_ENVELOPES = {
    "not UTF-8": b"\xff\xfe{}",
    "NUL": b"\x00",
    "injection": b"' OR '1'='1",
    "markup": b"<script>alert(1)</script>{{ 7 * 7 }}",
    "lone surrogate in a GUID": b'{"timestamp": "1", "guid": "\\ud800", "eventType": "order_updated",'
                                b' "details": {"restaurantGuid": "\\ud800", "order": {"guid": "\\udfff"}}}',
    "NUL in a GUID": b'{"timestamp": "1", "guid": "a\\u0000b", "eventType": "order_updated",'
                     b' "details": {"restaurantGuid": "r\\u0000", "order": {"guid": "o"}}}',
    "multipart": b"--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nb\r\n--x--\r\n",
}


@pytest.mark.parametrize("name", BAD_ENVELOPES)
def test_bad_envelopes_and_tokens_are_refused_with_401_never_a_500(lane, committed, name):
    """What the app-wide bad-input checks did for the receipt when it was a Flask route."""
    for path in (lane.path, "/webhooks/toast/%27%20OR%20%271%27%3D%271", "/webhooks/toast/%E2%80%AEtxt.exe"):
        response = lane.client.post(path, data=BAD_ENVELOPES[name], headers={
            "Content-Type": "application/json", "Toast-Signature": "x", "Toast-Attempt-Number": "1"})
        assert (response.status_code, response.get_json()) == (401, {"status": "rejected"}), path
    assert events(committed) == []


def test_a_defect_in_the_receipt_answers_500_without_its_details(lane, committed, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise KeyError("secret detail")

    monkeypatch.setattr("portal.webhooks.ingress.receive", broken)
    monkeypatch.setattr(logging.getLogger("tablecloth.webhooks"), "disabled", False)  # Alembic's fileConfig
    response = signed_post(lane, envelope_for(lane, lane.guids[0], takeout_orders(lane.sandbox, lane.guids[0], 1)[0]))
    assert (response.status_code, response.get_json()) == (500, {"status": "error"})  # Toast sends it again
    assert "secret detail" not in response.get_data(as_text=True)
    assert "webhook receipt failed" in caplog.text


def test_a_web_process_opens_its_connections_before_its_first_receipt(app):
    with app.app_context():
        engine = db.engine
    engine.dispose()  # as a freshly started process
    serving.post_worker_init(SimpleNamespace(wsgi=app, cfg=SimpleNamespace(threads=3)))
    assert engine.pool.checkedin() == 3  # one per request thread, ready in the pool


def test_redis_down_at_receipt_still_accepts_and_the_sweep_drains_past_a_dead_lease(lane, committed, redis_conn,
                                                                                    monkeypatch):
    order = takeout_orders(lane.sandbox, lane.guids[0], 1)[0]
    monkeypatch.setitem(lane.app.extensions, "tablecloth_redis",
                        Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2))
    assert signed_post(lane, envelope_for(lane, lane.guids[0], order)).status_code == 202  # stored: accepted
    monkeypatch.undo()
    assert Queue(WEBHOOKS, connection=redis_conn).count == 0
    # As if a worker had died holding the connection: its lease names a job that is gone.
    redis_conn.set(f"webhooks:{lane.connection_id}:lease", "webhooks-drain-of-a-dead-worker")
    committed.execute(update(WebhookEvent).values(created_at=utcnow() - timedelta(minutes=5)))
    committed.commit()
    assert webhook_lane.requeue_pending_events() == 1
    drain_lane(redis_conn)
    assert events(committed)[0].status == "processed"
    assert committed.scalar(select(func.count(Order.id)).where(Order.guid == order["guid"])) == 1
    assert webhook_lane.requeue_pending_events() == 0


def test_finished_events_are_pruned_after_the_retention_period_and_others_kept(app, connected, committed):
    connection, now = connected["connection"], utcnow()
    days = app.config["WEBHOOK_RETENTION_DAYS"]

    def event(status, age_days):
        stamp = now - timedelta(days=age_days)
        return WebhookEvent(org_id=connection.org_id, connection_id=connection.id, event_guid=str(uuid.uuid4()),
                            event_type="order_updated", body="{}", status=status, created_at=stamp,
                            processed_at=stamp if status != "received" else None)

    old = [event("processed", days + 1), event("ignored", days + 2), event("failed", days + 3)]
    kept = [event("processed", days - 1), event("failed", days - 1), event("received", days + 5)]
    committed.add_all(old + kept)
    committed.commit()
    kept_ids = sorted(e.id for e in kept)
    assert webhook_lane.prune_finished_events(batch=1) == 3  # batches of one: the loop runs until nothing is left
    committed.rollback()
    assert committed.scalars(select(WebhookEvent.id).order_by(WebhookEvent.id)).all() == kept_ids
