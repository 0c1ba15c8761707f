"""Destinations page (owners only), the segment panel, tenancy, the Mailchimp webhook receiver and the CLI."""
import json
import re

import pytest
from sqlalchemy import select

from portal.audiences import service
from portal.models import AudienceDestination, AudienceRun, Guest
from tests import factories
from tests.audiences.conftest import SEGMENT_RULES, add_guest


@pytest.fixture
def cli(app, session):
    return app.test_cli_runner()


@pytest.fixture
def shop(session, two_orgs, redis_conn):
    org = two_orgs["a"]
    segment = factories.SegmentFactory(organization=org, slug="regulars", rules_json=json.dumps(SEGMENT_RULES))
    for n in range(1, 4):
        add_guest(org, n)
    session.flush()
    return {**two_orgs, "segment": segment}


def test_an_owner_connects_tests_and_disconnects_a_destination_and_never_sees_the_key_again(web, shop, mailchimp):
    web.login(shop["owner_a"])
    response = web.post("/audiences/destinations", {"kind": "mailchimp", "base_url": mailchimp.base_url,
                                                    "api_key": mailchimp.state.api_key,
                                                    "list_id": mailchimp.state.list_id})
    assert response.status_code == 303
    page = web.client.get("/audiences/destinations").get_data(as_text=True)
    assert "Mailchimp: Sandbox audience" in page and mailchimp.state.api_key not in page
    destination = service.destinations_of(shop["a"].id)[0]
    assert destination.api_key_enc != mailchimp.state.api_key
    tested = web.htmx_post(f"/audiences/destinations/{destination.id}/test")
    assert "the list" in tested.get_data(as_text=True)
    assert web.post(f"/audiences/destinations/{destination.id}/delete").status_code == 303
    assert service.destinations_of(shop["a"].id) == []


@pytest.mark.parametrize("field,value,message", [
    ("api_key", "no-data-center", "ends with its data center"),
    ("api_key", "", "empty"),
    ("list_id", "nope", "did not accept this"),
    ("base_url", "ftp://x", "http"),
])
def test_bad_connect_input_is_shown_on_the_page_and_nothing_is_stored(web, shop, mailchimp, field, value, message):
    web.login(shop["owner_a"])
    form = {"kind": "mailchimp", "base_url": mailchimp.base_url, "api_key": mailchimp.state.api_key,
            "list_id": mailchimp.state.list_id, field: value}
    response = web.post("/audiences/destinations", form)
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert service.destinations_of(shop["a"].id) == []


def test_marketers_may_not_manage_destinations_but_may_sync_and_other_orgs_get_404(web, shop, mailchimp, session):
    destination = service.connect(shop["a"].id, kind="mailchimp", base_url=mailchimp.base_url,
                                  api_key=mailchimp.state.api_key, list_id=mailchimp.state.list_id)
    session.flush()
    segment = shop["segment"]
    web.login(shop["marketer_a"])
    assert web.client.get("/audiences/destinations").status_code == 403
    panel = web.client.get(f"/audiences/segments/{segment.id}/_panel").get_data(as_text=True)
    assert "Sync to" in panel and "Mailchimp: Sandbox audience" in panel
    started = web.htmx_post(f"/audiences/segments/{segment.id}/sync", {"destination_id": destination.id,
                                                                       "fields": ["first_name"]})
    assert started.status_code == 200 and 'hx-trigger="every 2s"' in started.get_data(as_text=True)
    run = session.query(AudienceRun).one()
    assert (run.trigger, run.started_by_id, run.status) == ("manual", shop["marketer_a"].id, "queued")

    web.client.post("/logout", data={"csrf_token": web.token})
    web.login(shop["owner_b"])
    for url in (f"/audiences/segments/{segment.id}/_panel", f"/audiences/runs/{run.id}/rejected.csv"):
        assert web.client.get(url).status_code == 404
    for url in (f"/audiences/destinations/{destination.id}/test", f"/audiences/destinations/{destination.id}/delete",
                f"/audiences/segments/{segment.id}/sync"):
        assert web.post(url, {"destination_id": destination.id}).status_code == 404
    assert session.get(AudienceDestination, destination.id) is not None


def test_the_mailchimp_webhook_answers_its_check_and_refuses_unknown_tokens(client, shop, mailchimp, session):
    destination = service.connect(shop["a"].id, kind="mailchimp", base_url=mailchimp.base_url,
                                  api_key=mailchimp.state.api_key, list_id=mailchimp.state.list_id)
    assert client.get(f"/webhooks/mailchimp/{destination.webhook_token}").status_code == 200
    assert client.post("/webhooks/mailchimp/not-a-token", data={"type": "unsubscribe"}).status_code == 404
    other_list = client.post(f"/webhooks/mailchimp/{destination.webhook_token}",
                             data={"type": "unsubscribe", "data[email]": "guest1@example.com", "data[list_id]": "x"})
    assert other_list.status_code == 200
    guest = session.scalar(select(Guest).where(Guest.org_id == shop["a"].id, Guest.email == "guest1@example.com"))
    assert not guest.marketing_opt_out  # an event about another list changes nothing here


def test_cli_connect_sync_and_runs_print_json(cli, shop, mailchimp, session):
    org = shop["a"]
    connected = cli.invoke(args=["audiences", "connect", "--org", org.slug, "--kind", "mailchimp", "--base-url",
                                 mailchimp.base_url, "--list-id", mailchimp.state.list_id],
                           input=mailchimp.state.api_key + "\n")
    assert connected.exit_code == 0, connected.output
    destination_id = json.loads(connected.output)["destination_id"]
    synced = cli.invoke(args=["audiences", "sync", "--org", org.slug, "--segment", "regulars", "--destination",
                              str(destination_id), "--inline"])
    assert synced.exit_code == 0, synced.output
    counts = json.loads(synced.output)
    assert (counts["status"], counts["members"], counts["added"], counts["trigger"]) == ("done", 3, 3, "cli")
    history = json.loads(cli.invoke(args=["audiences", "runs", "--org", org.slug]).output)
    assert [run["run_id"] for run in history] == [counts["run_id"]]


@pytest.mark.parametrize("args,stdin,message", [
    (["connect", "--org", "nowhere", "--kind", "mailchimp", "--list-id", "x"], "k-us1\n", "no organization"),
    (["connect", "--org", "{org}", "--kind", "mailchimp", "--list-id", "x"], "nodatacenter\n", "data center"),
    (["sync", "--org", "{org}", "--segment", "nope", "--destination", "1"], "", "no segment"),
    (["sync", "--org", "{org}", "--segment", "regulars", "--destination", "999"], "", "no destination"),
    (["sync", "--org", "{org}", "--segment", "regulars", "--destination", "abc"], "", "no destination"),
])
def test_cli_bad_input_is_one_line_and_a_non_zero_exit(cli, shop, args, stdin, message):
    args = [a.format(org=shop["a"].slug) for a in args]
    result = cli.invoke(args=["audiences", *args], input=stdin)
    assert result.exit_code != 0 and message in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1


def test_the_audit_log_names_audience_actions_and_their_destination_in_words(web, shop, mailchimp):
    destination = service.connect(shop["a"].id, kind="mailchimp", base_url=mailchimp.base_url,
                                  api_key=mailchimp.state.api_key, list_id=mailchimp.state.list_id,
                                  user=shop["owner_a"])
    sync = service.sync_for(shop["segment"], destination, ["first_name"], user=shop["owner_a"])
    service.run_inline(service.start_run(sync, "cli", enqueue=False))
    web.login(shop["owner_a"])
    page = web.client.get("/settings/audit").get_data(as_text=True)
    cells = re.findall(r"<td>([^<]*)</td>", page)
    for label in ("Email tool connected", "Audience sync set up", "Audience sync started", "Audience synced"):
        assert label in cells
    assert not any(cell.startswith("audience.") for cell in cells)  # no raw action names shown
    assert "Sandbox audience" in cells  # the destination is named by its list
    assert f"audience sync #{sync.id}" in cells
    assert '<option value="audience.synced"' in page and ">Audience synced</option>" in page
