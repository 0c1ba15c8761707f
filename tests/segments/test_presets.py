"""Presets: created with every organization, known answers on hand-built guests, the same as the reference."""
import json

from sqlalchemy import select

from portal.accounts.service import create_organization
from portal.models import Segment
from portal.models.base import utcnow
from portal.segments import service
from portal.segments.presets import PRESET_SLUGS, PRESETS
from tests.segments import reference

EXPECTED = {
    "lapsed": {"Lena Lapsed", "Olga Optout", "=HYPERLINK(\"http://x\") Evil"},
    "high-spend-delivery": {"Olga Optout"},
    "new": {"Ned New"},
    "regulars": {"Rita Regular"},
    "big-spenders": {"Olga Optout"},
    "one-and-done": {"Otto Once"},
}


def test_every_new_organization_gets_the_presets(session):
    org = create_organization("Fresh Group", "fresh-group")
    segments = session.scalars(select(Segment).where(Segment.org_id == org.id)).all()
    assert sorted(s.slug for s in segments) == sorted(PRESET_SLUGS)
    assert all(s.is_preset for s in segments)
    assert service.create_presets(org.id) == []  # idempotent


def test_presets_find_the_guests_they_describe(session, shop):
    now = utcnow()
    names = {gid: spec.name for gid, spec in shop.population.guests.items()}
    for slug, _, _ in PRESETS:
        segment = service.segment_by_slug(shop.org.id, slug)
        found = set(session.scalars(service.member_ids(shop.org.id, segment.rules, now)))
        assert {names[g] for g in found} == EXPECTED[slug], slug
        assert found == reference.members(shop.population, segment.rules, now), slug


def test_an_edited_preset_keeps_its_slug(session, shop):
    segment = service.segment_by_slug(shop.org.id, "lapsed")
    rules = segment.rules
    rules["rules"][1]["value"] = 100
    service.update_segment(segment, "Long lapsed", rules)
    assert (segment.slug, segment.name, segment.is_preset) == ("lapsed", "Long lapsed", True)
    assert service.count_members(shop.org.id, segment.rules) == 0


def test_list_with_counts(shop):
    listed = service.list_with_counts(shop.org.id)
    assert [row["slug"] for row in listed] == list(PRESET_SLUGS)
    assert {row["slug"]: row["member_count"] for row in listed} == {k: len(v) for k, v in EXPECTED.items()}
    json.dumps(listed)


def test_stats_chart_and_export_counts(shop):
    lapsed = service.segment_by_slug(shop.org.id, "lapsed").rules
    stats = service.stats(shop.org.id, lapsed)
    assert (stats.members, stats.guests, stats.spend_cents, stats.opted_out) == (3, 6, 5000 + 18000 + 200, 1)
    assert round(stats.share, 3) == 0.5 and stats.average_cents == round(23200 / 3)
    months = service.last_order_months(shop.org.id, lapsed)
    assert len(months) == 13 and months[0][0] == "earlier" and sum(n for _, n in months) == 3
    assert service.export_counts(shop.org.id, lapsed) == (2, 1)


def test_slugs_of_new_segments_are_unique(shop):
    rules = {"op": "and", "rules": []}
    first = service.create_segment(shop.org.id, "Lapsed!", rules)
    second = service.create_segment(shop.org.id, "Lapsed", rules)
    assert (first.slug, second.slug) == ("lapsed-2", "lapsed-3")
