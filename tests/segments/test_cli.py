"""``flask segments list`` and ``flask guests export --segment``."""
import csv
import io
import json

import pytest

from tests.segments.test_presets import EXPECTED


@pytest.fixture
def cli(app, session):
    return app.test_cli_runner()


def test_segments_list_prints_slug_name_and_member_count_as_json(cli, shop):
    result = cli.invoke(args=["segments", "list", "--org", shop.org.slug])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.stdout)
    assert listed[0] == {"slug": "lapsed", "name": "Lapsed guests", "member_count": 3}
    assert {row["slug"]: row["member_count"] for row in listed} == {k: len(v) for k, v in EXPECTED.items()}


def test_segments_list_of_an_unknown_organization_is_one_line(cli, session):
    result = cli.invoke(args=["segments", "list", "--org", "nowhere"])
    assert result.exit_code == 1 and result.output.strip() == "Error: no organization with slug 'nowhere'"


def test_guests_export_of_a_segment_leaves_out_opted_out_members_and_says_so(cli, shop):
    result = cli.invoke(args=["guests", "export", "--org", shop.org.slug, "--segment", "lapsed"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert sorted(r["last_name"] for r in rows) == ["Evil", "Lapsed"]
    assert "segment lapsed: 2 guests exported, 1 opted-out members left out" in result.stderr
    everyone = cli.invoke(args=["guests", "export", "--org", shop.org.slug, "--segment", "lapsed",
                                "--include-opted-out", "--format", "json"])
    assert sorted(r["last_name"] for r in json.loads(everyone.stdout)) == ["Evil", "Lapsed", "Optout"]
    assert "3 guests exported, 0 opted-out members left out" in everyone.stderr


def test_guests_export_as_of_an_earlier_date_moves_relative_rules(cli, shop):
    from datetime import timedelta

    from portal.models.base import utcnow

    earlier = (utcnow() - timedelta(days=10)).date().isoformat()
    result = cli.invoke(args=["guests", "export", "--org", shop.org.slug, "--segment", "lapsed", "--as-of", earlier])
    # ten days earlier only Lena's last order (70 days ago today) was 60 days old: Evil's was 51, Olga's 55
    assert [r["last_name"] for r in csv.DictReader(io.StringIO(result.stdout))] == ["Lapsed"]
