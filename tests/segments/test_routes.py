"""Segment pages: the HTMX builder (preview, inline messages, rows), saving, the segment page, CSV export."""
import csv
import io
import re

import pytest
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from portal.models import AuditEvent, Segment
from portal.segments import service
from tests import factories


def builder_form(*nodes, root_op="and", name="Big delivery fans") -> list[tuple[str, str]]:
    """Form fields as the builder posts them. ``nodes``: (key, parent, kind, {input: value or [values]})."""
    data = [("name", name), ("root.op", root_op)]
    for key, parent, kind, inputs in nodes:
        data.append(("node", f"{key}:{parent}:{kind}"))
        for input_name, value in inputs.items():
            for item in value if isinstance(value, list) else [value]:
                data.append((f"{key}.{input_name}", item))
    return data


TWO_GROUPS = builder_form(
    ("g1", "root", "group", {"op": "or"}),
    ("c1", "g1", "condition", {"field": "delivery_orders", "operator": "gte", "value": "1"}),
    ("c2", "g1", "condition", {"field": "days_since_first_order", "operator": "lt", "value": "30"}),
    ("g2", "root", "group", {"op": "and"}),
    ("c3", "g2", "condition", {"field": "net_spend", "operator": "gte", "value": "$15.00"}),
)


def htmx_post(web, url, data):
    return web.client.post(url, data=dict_list(data), headers={"HX-Request": "true", "X-CSRFToken": web.token})


def form_post(web, url, pairs):
    """A plain (non-htmx) form post keeping repeated fields, as the browser sends the builder on Save."""
    return web.client.post(url, data=dict_list([*pairs, ("csrf_token", web.token)]))


def member_count(html: str) -> int:
    match = re.search(r'data-testid="member-count">([\d,—]+)<', html)
    assert match, html[:2000]
    return int(match.group(1).replace(",", ""))


@pytest.fixture
def signed_in(web, shop):
    web.login(shop.marketer)
    return web


def test_index_lists_presets_in_plain_words(signed_in, shop):
    html = signed_in.client.get("/segments/").get_data(as_text=True)
    assert "Lapsed guests" in html and "at least 2 orders and last order at least 60 days ago" in html
    lapsed = service.segment_by_slug(shop.org.id, "lapsed")
    assert signed_in.client.get(f"/segments/{lapsed.id}/_count").get_data(as_text=True).strip() == "3"


def test_preview_counts_a_two_group_rule(signed_in):
    response = htmx_post(signed_in, "/segments/_preview", TWO_GROUPS)
    html = response.get_data(as_text=True)
    # (delivery or new) and net spend >= $15: Lena 50, Ned 15, Rita 125, Olga 180 -> 4
    assert response.status_code == 200 and member_count(html) == 4
    assert "Rita" in html and "Otto" not in html
    assert 'id="err-c1" hx-swap-oob="true"></span>' in html  # each condition's message slot is cleared


def test_changing_a_value_changes_the_count(signed_in):
    changed = [(k, "200" if k == "c3.value" else v) for k, v in TWO_GROUPS]
    assert member_count(htmx_post(signed_in, "/segments/_preview", changed).get_data(as_text=True)) == 0


@pytest.mark.parametrize(("inputs", "message"), [
    ({"field": "order_count", "operator": "gte", "value": "lots"}, "must be a whole number"),
    ({"field": "order_count", "operator": "gte", "value": ""}, "must be a whole number"),
    ({"field": "net_spend", "operator": "gte", "value": "1e400"}, "amount from"),
    ({"field": "net_spend", "operator": "gte", "value": "12.345"}, "two decimals"),
    ({"field": "order_count", "operator": "gte", "value": "99999999999999999999999"}, "whole number"),
    ({"field": "first_order_date", "operator": "on", "value": "yesterday"}, "must be a date"),
    ({"field": "order_count", "operator": "gte", "value": "2", "window_days": "-3"}, "whole number"),
    ({"field": "net_spend", "operator": "top_percent", "value": "150", "among": "all"}, "percentage from"),
    ({"field": "net_spend", "operator": "top_percent", "value": "15", "among": "mars"}, "unknown population"),
    ({"field": "location", "operator": "any_of"}, "choose 1"),
    ({"field": "favourite_colour", "operator": "is", "value": "red"}, "unknown field &#39;favourite_colour&#39;"),
    ({"field": "order_count", "operator": "approximately", "value": "2"}, "unknown operator &#39;approximately&#39;"),
])
def test_invalid_values_get_an_inline_message_not_an_error(signed_in, inputs, message):
    data = builder_form(("ok1", "root", "condition", {"field": "order_count", "operator": "gte", "value": "1"}),
                        ("bad1", "root", "condition", inputs))
    response = htmx_post(signed_in, "/segments/_preview", data)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    slot = re.search(r'<span class="field-error" id="err-bad1" hx-swap-oob="true">([^<]*)</span>', html)
    assert slot and message in slot.group(1), html
    assert re.search(r'id="err-ok1" hx-swap-oob="true"></span>', html)
    assert 'data-testid="rules-invalid"' in html


def test_garbage_forms_never_fail(signed_in):
    for data in ([], [("node", "x")], [("node", "AB:root:condition")], [("node", "a:zz:group")],
                 [("node", "a:root:group")], [("root.op", "nand")], [("node", "a:root:condition")] * 3):
        assert htmx_post(signed_in, "/segments/_preview", data).status_code == 200


def test_rows_are_added_redrawn_and_removed_by_fragments(signed_in):
    response = signed_in.client.get("/segments/_condition?parent=root", headers={"HX-Request": "true"})
    assert response.status_code == 200 and 'data-testid="condition"' in response.get_data(as_text=True)
    assert "rules-changed" in response.headers["HX-Trigger-After-Settle"]
    group = signed_in.client.get("/segments/_group", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert group.count('data-testid="condition"') == 1 and ":root:group" in group
    redrawn = signed_in.client.get("/segments/_condition?key=ab12&parent=root&ab12.field=tag&ab12.was=order_count"
                                   "&ab12.operator=gte&ab12.value=3").get_data(as_text=True)
    assert 'name="ab12.value" multiple' in redrawn and 'value="any_of" selected' in redrawn
    kept = signed_in.client.get("/segments/_condition?key=ab12&parent=root&ab12.field=net_spend&ab12.was=net_spend"
                                "&ab12.operator=between&ab12.value=5&ab12.value2=9").get_data(as_text=True)
    assert 'name="ab12.value2" value="9"' in kept and 'name="ab12.value" value="5"' in kept
    assert signed_in.client.get("/segments/_condition?parent=%3Cscript%3E").status_code == 400
    removed = signed_in.client.get("/segments/_removed", headers={"HX-Request": "true"})
    assert removed.get_data() == b"" and "rules-changed" in removed.headers["HX-Trigger-After-Settle"]


def test_save_a_new_segment_then_edit_it(signed_in, shop, session):
    response = form_post(signed_in, "/segments/", TWO_GROUPS)
    assert response.status_code == 303
    segment = session.scalar(select(Segment).where(Segment.org_id == shop.org.id, Segment.slug == "big-delivery-fans"))
    assert segment.rules["rules"][0] == {"op": "or", "rules": [
        {"field": "delivery_orders", "operator": "gte", "value": 1},
        {"field": "days_since_first_order", "operator": "lt", "value": 30}]}
    assert response.headers["Location"].endswith(f"/segments/{segment.id}")
    page = signed_in.client.get(f"/segments/{segment.id}").get_data(as_text=True)
    assert member_count(page) == 4 and "(at least 1 delivery order or first order less than 30 days ago)" in page
    edit = signed_in.client.get(f"/segments/{segment.id}/edit").get_data(as_text=True)
    assert edit.count('data-testid="group"') == 2 and edit.count('data-testid="condition"') == 3
    renamed = [(k, "Fans" if k == "name" else v) for k, v in TWO_GROUPS]
    assert form_post(signed_in, f"/segments/{segment.id}", renamed).status_code == 303
    session.refresh(segment)
    assert (segment.name, segment.slug) == ("Fans", "big-delivery-fans")


def test_saving_invalid_rules_redraws_the_builder_with_messages(signed_in, shop, session):
    data = builder_form(("c1", "root", "condition", {"field": "order_count", "operator": "gte", "value": "many"}))
    response = form_post(signed_in, "/segments/", data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="err-c1" role="alert">must be a whole number' in html
    assert 'value="many"' in html
    nameless = builder_form(("c1", "root", "condition", {"field": "order_count", "operator": "gte", "value": "1"}),
                            name="  ")
    assert form_post(signed_in, "/segments/", nameless).status_code == 422
    assert session.scalar(select(Segment).where(Segment.org_id == shop.org.id, Segment.is_preset.is_(False))) is None


def test_segment_page_shows_figures_chart_and_sortable_members(signed_in, shop):
    lapsed = service.segment_by_slug(shop.org.id, "lapsed")
    html = signed_in.client.get(f"/segments/{lapsed.id}").get_data(as_text=True)
    assert member_count(html) == 3 and "50.0%" in html and "$232.00" in html and "$77.33" in html
    assert 'data-testid="months-chart"' in html and "<rect" in html
    assert "2 guests will be exported;\n  1 who opted out" in html
    fragment = signed_in.client.get(f"/segments/{lapsed.id}/_members?sort=spend&direction=asc",
                                    headers={"HX-Request": "true"}).get_data(as_text=True)
    names = re.findall(r'<td><a href="/guests/\d+">([^<]*(?:Lena|Olga|Evil)[^<]*)</a>', fragment)  # linked
    assert [n.split()[0] for n in names] == ["=HYPERLINK(&#34;http://x&#34;)", "Lena", "Olga"]
    assert signed_in.client.get(f"/segments/{lapsed.id}/_members?sort=nope&page=-4").status_code == 200


def test_presets_cannot_be_deleted_other_segments_can(signed_in, shop, session):
    lapsed = service.segment_by_slug(shop.org.id, "lapsed")
    assert signed_in.post(f"/segments/{lapsed.id}/delete").status_code == 409
    mine = factories.SegmentFactory(organization=shop.org)
    assert signed_in.post(f"/segments/{mine.id}/delete").status_code == 303
    assert session.get(Segment, mine.id) is None


def read_csv(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def test_csv_export_leaves_out_opted_out_guests_and_says_how_many(signed_in, shop, session):
    lapsed = service.segment_by_slug(shop.org.id, "lapsed")
    response = signed_in.client.get(f"/segments/{lapsed.id}/export.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["X-Excluded-Opted-Out"] == "1"
    assert 'filename="lapsed-' in response.headers["Content-Disposition"]
    rows = read_csv(response)
    assert sorted(r["last_name"] for r in rows) == ["Evil", "Lapsed"]
    evil = next(r for r in rows if r["last_name"] == "Evil")
    assert evil["first_name"] == "'=HYPERLINK(\"http://x\")"  # the guests export defuses formulas
    everyone = signed_in.client.get(f"/segments/{lapsed.id}/export.csv?include_opted_out=1")
    assert len(read_csv(everyone)) == 3 and everyone.headers["X-Excluded-Opted-Out"] == "0"
    event = session.scalar(select(AuditEvent).where(AuditEvent.org_id == shop.org.id,
                                                    AuditEvent.action == "export.downloaded"))
    assert event.details["slug"] == "lapsed" and event.details["excluded_opted_out"] == 1


def test_the_csv_download_is_marked_as_a_bulk_export(app):
    assert app.view_functions["segments.export"].blocked_while_impersonating


def test_signed_out_visitors_go_to_the_login_page(client, shop):
    assert "/login" in client.get("/segments/").headers["Location"]


def dict_list(pairs) -> MultiDict:
    """Form pairs for the test client (a MultiDict keeps repeated keys, in order)."""
    return MultiDict(pairs)
