"""The sandboxes and the clients agree with the vendors' published facts (tests/fixtures/audiences/)."""
import hashlib
import json
import re
import threading
from pathlib import Path

import httpx
import jsonschema
import pytest

from portal.audiences import clients
from portal.audiences.pacing import AccountPacer
from tests.audiences.conftest import Sandbox

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "audiences"


def klaviyo_op(name: str) -> dict:
    return json.loads((FIXTURES / "klaviyo" / f"{name}.json").read_text())


MAILCHIMP = json.loads((FIXTURES / "mailchimp" / "marketing-api-v3.json").read_text())


def mailchimp_op(operation_id: str) -> dict:
    return next(op for op in MAILCHIMP["operations"] if op["operationId"] == operation_id)


def json_schema(node):
    """OpenAPI 3.0 schema -> JSON Schema: ``nullable: true`` becomes a null type."""
    if isinstance(node, list):
        return [json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: json_schema(value) for key, value in node.items()}
    if node.pop("nullable", False) and "type" in node:
        node["type"] = [node["type"], "null"]
    return node


@pytest.fixture(scope="module")
def boxes():
    mailchimp, klaviyo = Sandbox("mailchimp"), Sandbox("klaviyo", rate=1000, steady=100000)
    yield mailchimp, klaviyo
    mailchimp.stop()
    klaviyo.stop()


def test_the_clients_batch_sizes_and_pacing_are_the_published_ones():
    assert clients.MAILCHIMP_BATCH == mailchimp_op("lists/batch-sub-unsub-members")["body"]["members"]["maxItems"]
    segment = mailchimp_op("lists/segments/batch-add-remove-members")["body"]
    assert clients.MAILCHIMP_BATCH == segment["members_to_add"]["maxItems"] == segment["members_to_remove"]["maxItems"]
    assert clients.MAILCHIMP_LIMITS.concurrency == MAILCHIMP["limits"]["simultaneous_connections_per_key"]
    text = klaviyo_op("bulk_import_profiles")["description"]
    assert f"{clients.KLAVIYO_IMPORT_MAX:,} profiles" in text and "5MB" in text
    assert f"maximum of {clients.KLAVIYO_REMOVE_MAX} profiles" in klaviyo_op("remove_profiles_from_list")["description"]
    subscribe = klaviyo_op("bulk_subscribe_profiles")["description"]
    assert f"submitted for subscription: {clients.KLAVIYO_SUBSCRIBE_MAX}" in subscribe
    assert "remove any `UNSUBSCRIBE`" in subscribe  # why a sync subscribes only right after reading suppressions
    size = next(p for p in klaviyo_op("get_profiles_for_bulk_import_profiles_job")["parameters"]
                if p["name"] == "page[size]")
    assert clients.KLAVIYO_PAGE == size["schema"]["maximum"]
    for name in ("bulk_import_profiles", "get_bulk_import_profiles_job", "remove_profiles_from_list"):
        limit = klaviyo_op(name)["x-klaviyo-ratelimit"]
        burst, steady = (int(re.match(r"(\d+)", limit[k]).group(1)) for k in ("burst", "steady"))
        assert clients.KLAVIYO_LIMITS.windows["default"] == ((burst, 1.0), (steady, 60.0))
    revision = next(p for p in klaviyo_op("bulk_import_profiles")["parameters"] if p["name"] == "revision")
    assert revision["required"] and clients.KLAVIYO_REVISION == revision["schema"]["default"]
    assert clients.mailchimp_subscriber_hash(" Ann@Example.COM ") == hashlib.md5(b"ann@example.com").hexdigest()


def test_the_klaviyo_subscribe_body_follows_the_spec_and_the_sandbox_takes_only_that(boxes, redis_conn):
    _, klaviyo = boxes
    spec = klaviyo_op("bulk_subscribe_profiles")
    schema = json_schema({"$ref": "#/components/schemas/SubscriptionCreateJobCreateQuery",
                          "components": {"schemas": spec["schemas"]}})
    pacer = AccountPacer(redis_conn, "contract", clients.KLAVIYO_LIMITS)
    client = clients.KlaviyoClient(klaviyo.base_url, klaviyo.state.api_key, pacer)
    sent = []
    client._http.event_hooks["request"].append(lambda request: sent.append(json.loads(request.read())))
    client.subscribe(klaviyo.state.list_id, ["ann@example.com"])  # the sandbox took it (202), or this raised
    jsonschema.validate(sent[0], schema)
    assert {p["email"]: bool(p["subscribed_at"]) for p in klaviyo.admin("GET", "/profiles")}["ann@example.com"]
    headers = {"Authorization": f"Klaviyo-API-Key {klaviyo.state.api_key}", "revision": clients.KLAVIYO_REVISION}
    url = f"{klaviyo.base_url}{spec['path']}"
    too_many = json.loads(json.dumps(sent[0]))
    too_many["data"]["attributes"]["profiles"]["data"] *= clients.KLAVIYO_SUBSCRIBE_MAX + 1
    answer = httpx.post(url, json=too_many, headers=headers)
    assert answer.status_code == 400
    jsonschema.validate(answer.json(), spec["errors"]["application/vnd.api+json"]["schema"])
    no_consent = json.loads(json.dumps(sent[0]))
    no_consent["data"]["attributes"]["profiles"]["data"][0]["attributes"]["subscriptions"] = {}
    assert httpx.post(url, json=no_consent, headers=headers).status_code == 400


def test_mailchimp_sandbox_refuses_what_mailchimp_refuses_with_problem_json(boxes):
    mailchimp, _ = boxes
    auth = ("any", mailchimp.state.api_key)
    list_url = f"{mailchimp.base_url}/lists/{mailchimp.state.list_id}"
    too_many = [{"email_address": f"a{n}@example.com", "status": "transactional"} for n in range(501)]
    answer = httpx.post(list_url, json={"members": too_many}, auth=auth)
    assert answer.status_code == 400 and answer.headers["content-type"].startswith("application/problem+json")
    assert set(MAILCHIMP["errors"]["required"]) <= set(answer.json())
    assert httpx.get(list_url, auth=("any", "wrong-us19")).status_code == 401
    answer = httpx.post(list_url, json={"members": too_many[:500]}, auth=auth).json()
    assert answer["total_created"] == 500 and answer["error_count"] == 0
    again = httpx.post(list_url, json={"members": too_many[:1]}, auth=auth).json()
    assert again["errors"][0]["error_code"] in mailchimp_op("lists/batch-sub-unsub-members")["response"]["errors"][
        "items"]["error_code"]
    segment = httpx.post(f"{list_url}/segments", json={"name": "t", "static_segment": []}, auth=auth).json()
    over = httpx.post(f"{list_url}/segments/{segment['id']}", auth=auth,
                      json={"members_to_add": [m["email_address"] for m in too_many]})
    assert over.status_code == 400


def test_mailchimp_sandbox_allows_ten_simultaneous_connections_per_key():
    box = Sandbox("mailchimp", latency=2.0)  # every request holds its connection for 2 s
    results = []
    threads = [threading.Thread(target=lambda: results.append(
        httpx.get(f"{box.base_url}/ping", auth=("a", box.state.api_key), timeout=30).status_code)) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    box.stop()
    assert results.count(200) == 10 and results.count(429) == 2


def test_klaviyo_sandbox_limits_and_error_shapes_follow_the_spec(boxes):
    _, klaviyo = boxes
    headers = {"Authorization": f"Klaviyo-API-Key {klaviyo.state.api_key}", "revision": clients.KLAVIYO_REVISION}
    schema = klaviyo_op("bulk_import_profiles")["errors"]["application/vnd.api+json"]["schema"]
    url = f"{klaviyo.base_url}/api/profile-bulk-import-jobs"
    body = {"data": {"type": "profile-bulk-import-job", "attributes": {"profiles": {"data": [
        {"type": "profile", "attributes": {"email": f"p{n}@example.com"}} for n in range(10_001)]}}}}
    answer = httpx.post(url, json=body, headers=headers)
    assert answer.status_code == 400
    jsonschema.validate(answer.json(), schema)
    answer = httpx.post(url, json={"data": {"type": "x"}}, headers={"Authorization": headers["Authorization"]})
    assert answer.status_code == 400  # no revision header
    body["data"]["attributes"]["profiles"]["data"] = body["data"]["attributes"]["profiles"]["data"][:3]
    created = httpx.post(url, json=body, headers=headers)
    assert created.status_code == 202 and "RateLimit-Remaining" in created.headers
    job_schema = klaviyo_op("bulk_import_profiles")["schemas"]["PostProfileImportJobResponse"]
    jsonschema.validate(created.json(), json_schema({**job_schema, "components": {"schemas": klaviyo_op(
        "bulk_import_profiles")["schemas"]}}))
    assert created.json()["data"]["attributes"]["status"] in ("queued", "processing", "complete", "cancelled")
    removal = httpx.request("DELETE", f"{klaviyo.base_url}/api/lists/{klaviyo.state.list_id}/relationships/profiles",
                            headers=headers, json={"data": [{"type": "profile", "id": str(n)} for n in range(1001)]})
    assert removal.status_code == 400
    page = httpx.get(f"{url}/{created.json()['data']['id']}/profiles", params={"page[size]": 101}, headers=headers)
    assert page.status_code == 400
