"""Klaviyo: bulk import jobs with the list as relationship, profile ids kept from the import, removals by id, import
errors kept as rejected records, suppressions polled back, 429s, resume; against the sandbox over HTTP."""
from sqlalchemy import select

from portal.audiences import clients, runs, service
from portal.models import AudienceMember, AudienceRejection, AudienceRun, Guest
from portal.models.privacy import MarketingOptIn
from portal.privacy import consent
from tests.audiences.conftest import Sandbox, add_guest, connect
from tests.jobs import work

import pytest


@pytest.fixture
def klaviyo():
    box = Sandbox("klaviyo", rate=50, steady=3000)
    yield box
    box.stop()


def profiles(box):
    return {p["email"]: p for p in box.admin("GET", "/profiles")}


def run_once(committed, sync) -> AudienceRun:
    run = service.start_run(sync, "cli", enqueue=False)
    runs.execute(run.id)
    committed.expire_all()
    return committed.get(AudienceRun, run.id)


def test_import_lists_profiles_without_touching_consent_then_sends_only_changes(world, committed, klaviyo):
    org, segment = world["org"], world["segment"]
    guests = [add_guest(org, n, opted_in=n == 1) for n in range(1, 251)]
    destination = connect(org, klaviyo)
    sync = service.sync_for(segment, destination, ["first_name", "visits", "rfm_group"])
    committed.commit()
    run = run_once(committed, sync)
    assert (run.status, run.members, run.added, run.rejected) == ("done", 250, 250, 0)
    held = profiles(klaviyo)
    assert len(held) == 250 and all(p["in_list"] for p in held.values())
    assert held["guest7@example.com"]["attributes"]["first_name"] == "First7"
    assert held["guest7@example.com"]["attributes"]["properties"]["visits"] == 3
    assert held["guest1@example.com"]["subscribed_at"]  # its opt-in on record
    assert not any(p["subscribed_at"] for email, p in held.items() if email != "guest1@example.com")  # none
    writes = klaviyo.writes()
    assert [w["path"] for w in writes] == ["/api/profile-bulk-import-jobs",  # one job for all 250
                                           "/api/profile-subscription-bulk-create-jobs"]  # one call for the opt-in
    ids = committed.scalars(select(AudienceMember.remote_id).where(AudienceMember.sync_id == sync.id)).all()
    assert len(set(ids)) == 250 and None not in ids  # kept from the import: removal needs them

    again = run_once(committed, sync)
    assert (again.unchanged, again.write_calls) == (250, 0)

    guests[0].order_count = 1  # leaves
    consent.set_opt_out(guests[1], True)  # opts out here
    guests[2].first_name = "Renamed"
    committed.commit()
    run = run_once(committed, sync)
    assert (run.added, run.updated, run.removed, run.unchanged) == (0, 1, 2, 247)
    held = profiles(klaviyo)
    assert not held["guest1@example.com"]["in_list"] and not held["guest2@example.com"]["in_list"]
    assert held["guest3@example.com"]["attributes"]["first_name"] == "Renamed"
    assert [w["path"] for w in klaviyo.writes()][2:] == ["/api/profile-bulk-import-jobs",
                                                         f"/api/lists/{destination.list_id}/relationships/profiles"]


def test_a_suppression_in_klaviyo_comes_back_into_the_suppression_list(world, committed, klaviyo):
    org, segment = world["org"], world["segment"]
    guest = add_guest(org, 1)
    add_guest(org, 2)
    destination = connect(org, klaviyo)
    sync = service.sync_for(segment, destination, ["first_name"])
    committed.commit()
    run_once(committed, sync)
    klaviyo.admin("POST", "/profiles/guest1@example.com/suppress")
    run = run_once(committed, sync)  # the run reads suppressions first, then takes the guest out
    assert committed.get(Guest, guest.id).marketing_opt_out
    assert run.removed == 1 and not profiles(klaviyo)["guest1@example.com"]["in_list"]


def test_an_opt_in_recorded_later_subscribes_once_and_a_suppressed_guest_is_never_subscribed(world, committed,
                                                                                              klaviyo):
    org, segment = world["org"], world["segment"]
    later, suppressed = add_guest(org, 1), add_guest(org, 2, opted_in=True)
    destination = connect(org, klaviyo)
    sync = service.sync_for(segment, destination, ["first_name"])
    committed.commit()
    run_once(committed, sync)
    held = profiles(klaviyo)
    assert not held["guest1@example.com"]["subscribed_at"] and held["guest2@example.com"]["subscribed_at"]

    klaviyo.admin("POST", "/profiles/guest2@example.com/suppress")  # unsubscribes in Klaviyo
    committed.add(MarketingOptIn(org_id=org.id, guest_id=later.id, source="signup form"))
    committed.commit()
    writes_before = len(klaviyo.writes())
    run = run_once(committed, sync)
    assert committed.get(Guest, suppressed.id).marketing_opt_out  # read back before anything was sent
    subscribes = [w for w in klaviyo.writes()[writes_before:]
                  if w["path"] == "/api/profile-subscription-bulk-create-jobs"]
    held = profiles(klaviyo)
    assert len(subscribes) == 1 and held["guest1@example.com"]["subscribed_at"]  # the new opt-in, once
    assert held["guest2@example.com"]["suppressed_at"]  # still suppressed: never subscribed again
    assert run.updated == 1 and run.removed == 1
    assert run_once(committed, sync).write_calls == 0  # subscribed once, not at every run


def test_import_errors_are_rejected_records_and_429s_are_waited_out(world, committed, klaviyo):
    org, segment = world["org"], world["segment"]
    add_guest(org, 1)
    bad = add_guest(org, 2, email="broken@mail.invalid")
    destination = connect(org, klaviyo)
    sync = service.sync_for(segment, destination, ["first_name"])
    committed.commit()
    klaviyo.admin("POST", "/faults", json={"too_many_requests": 2})
    run = run_once(committed, sync)
    assert (run.status, run.added, run.rejected) == ("done", 1, 1)
    rejection = committed.scalar(select(AudienceRejection).where(AudienceRejection.run_id == run.id))
    assert rejection.guest_id == bad.id and "broken@" not in rejection.reason
    assert [r["status"] for r in klaviyo.admin("GET", "/requests")].count(429) == 2


def test_resumes_after_a_kill_between_chunks(world, committed, klaviyo, monkeypatch):
    org, segment = world["org"], world["segment"]
    for n in range(1, 31):
        add_guest(org, n)
    destination = connect(org, klaviyo)
    sync = service.sync_for(segment, destination, ["first_name"])
    committed.commit()
    monkeypatch.setattr(clients, "KLAVIYO_IMPORT_MAX", 10)  # three chunks
    real = clients.KlaviyoClient.import_profiles
    calls = []

    def dies_on_the_second(self, list_id, body):
        calls.append(len(body))
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(self, list_id, body)

    monkeypatch.setattr(clients.KlaviyoClient, "import_profiles", dies_on_the_second)
    run = service.start_run(sync, "cli", enqueue=False)
    with pytest.raises(KeyboardInterrupt):
        runs.execute(run.id)
    committed.rollback()
    monkeypatch.setattr(clients.KlaviyoClient, "import_profiles", real)
    runs.Lease(sync.id)._redis.delete(f"audience-run-lease:{sync.id}")  # the dead process's lease lapses
    runs.execute(run.id)
    committed.expire_all()
    run = committed.get(AudienceRun, run.id)
    assert (run.status, run.added) == ("done", 30)
    imports = [w for w in klaviyo.writes() if w["path"] == "/api/profile-bulk-import-jobs"]
    # Three jobs go out side by side: the first was stored before the process died and is not sent again, the
    # second died unsent, the third's answer was lost in flight and is sent once more (an idempotent upsert).
    assert len(imports) == 4
    assert all(p["in_list"] for p in profiles(klaviyo).values()) and len(profiles(klaviyo)) == 30


def test_a_run_queued_from_the_page_is_done_by_an_rq_worker(world, committed, klaviyo, redis_conn):
    org, segment = world["org"], world["segment"]
    for n in range(1, 6):
        add_guest(org, n)
    sync = service.sync_for(segment, connect(org, klaviyo), ["first_name"])
    committed.commit()
    run = service.start_run(sync, "manual")
    work(redis_conn)
    committed.expire_all()
    assert committed.get(AudienceRun, run.id).status == "done" and len(profiles(klaviyo)) == 5
