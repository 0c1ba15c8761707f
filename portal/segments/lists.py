"""Segments made from the guest list: hand-picked guests are added to a segment through a tag.

A list segment's rules are one condition, "tagged <tag>": adding guests tags them (``portal.guests.bulk``), and
the segment stays a rule like any other (the builder edits it, exports and counts read it). Nothing commits here.
"""
from portal.errors import InputError
from portal.guests import bulk
from portal.guests.service import clean_tag
from portal.models import Segment
from portal.segments import service


def list_rules(tag: str) -> dict:
    return {"op": "and", "rules": [{"field": "tag", "operator": "any_of", "value": [tag]}]}


def list_tag(segment: Segment) -> str | None:
    """The tag of a list segment; None for a segment built from other rules."""
    rules = segment.rules
    if rules.get("op") == "and" and len(rules.get("rules", [])) == 1:
        node = rules["rules"][0]
        if node.get("field") == "tag" and node.get("operator") == "any_of" and len(node.get("value") or []) == 1:
            return node["value"][0]
    return None


def list_segments(org_id: int) -> list[tuple[Segment, str]]:
    """The organization's list segments with their tags, by name."""
    found = [(segment, list_tag(segment)) for segment in service.segments_of(org_id)]
    return sorted([(segment, tag) for segment, tag in found if tag], key=lambda pair: pair[0].name.lower())


def add_guests(org_id: int, target: bulk.Target, user_id: int | None, *, segment: Segment | None = None,
               new_name: str = "") -> tuple[Segment, int]:
    """Add the target's guests to a list segment, or to a new one named ``new_name`` (its tag is the name);
    returns the segment and how many guests joined. InputError for a segment built from other rules, or a missing
    or too long name (a tag is at most 64 characters)."""
    if segment is not None:
        tag = list_tag(segment)
        if tag is None:
            raise InputError(f"“{segment.name}” is built from rules; guests can be added to list segments only.")
    else:
        tag = clean_tag(new_name)
        segment = service.create_segment(org_id, new_name, list_rules(tag), user_id)
    return segment, bulk.tag(org_id, target, tag, user_id)
