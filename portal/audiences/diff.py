"""What a run must send: the segment's contactable members against the sync's snapshot.

* **add**: a member not in the destination list (new, or back after leaving); upserted first unless the destination
  already holds exactly these values (a run killed between its upsert and its tag resumes with the tag only).
* **update**: a listed member whose sent values changed (the fingerprint differs).
* **remove**: a listed member this sync put there who left the segment, opted out or was erased.
Members the destination holds as unsubscribed or cleaned are never written again (never re-subscribed).
"""
from dataclasses import dataclass, field

from sqlalchemy import select

from portal.audiences import fields as guest_fields
from portal.extensions import db
from portal.models import AudienceMember, AudienceSync, Guest
from portal.segments import service as segments

READ_CHUNK = 500
SILENT = ("unsubscribed", "cleaned")  # the member said no, or bounced: never written again


@dataclass
class Plan:
    members: int = 0
    unchanged: int = 0
    upserts: list = field(default_factory=list)  # MemberRow to create or update
    tags: list = field(default_factory=list)  # MemberRow to put in the list/tag
    removals: list = field(default_factory=list)  # AudienceMember to take out
    snapshot: dict = field(default_factory=dict)  # guest id -> AudienceMember, of the members to send only
    resent: set = field(default_factory=set)  # guest ids written by a run killed before it stored the answer

    @property
    def to_send(self) -> int:
        return len({row.guest_id for row in self.upserts + self.tags}) + len(self.removals)


def contactable_ids(sync: AudienceSync) -> list[int]:
    """Guest ids of the segment's members who have an email and have not opted out or been erased."""
    members = segments.member_ids(sync.org_id, sync.segment.rules).subquery()
    return list(db.session.scalars(
        select(Guest.id).where(Guest.id.in_(select(members.c.id)), Guest.org_id == sync.org_id,
                               Guest.email.is_not(None), Guest.marketing_opt_out.is_(False),
                               Guest.erased_at.is_(None)).order_by(Guest.id)))


def plan(sync: AudienceSync, keys: list[str], remote_id) -> Plan:
    """The run's work. ``remote_id(row)`` names a member in the destination (Mailchimp: the subscriber hash)."""
    result = Plan()
    # Plain rows, not ORM objects: a run with nothing to send reads 100,000 of them and touches none.
    known_rows = {row.guest_id: row for row in db.session.execute(
        select(AudienceMember.guest_id, AudienceMember.remote_id, AudienceMember.fingerprint,
               AudienceMember.remote_status, AudienceMember.in_list, AudienceMember.pending)
        .where(AudienceMember.sync_id == sync.id))}
    wanted = contactable_ids(sync)
    result.members = len(wanted)
    wanted_remote = set()
    for start in range(0, len(wanted), READ_CHUNK):
        for row in db.session.execute(guest_fields.rows_query(sync.org_id, wanted[start:start + READ_CHUNK])):
            member = guest_fields.member_row(row, keys)
            wanted_remote.add(remote_id(member))
            known = known_rows.get(member.guest_id)
            if known is not None and known.remote_status in SILENT:
                result.unchanged += 1
                continue
            fresh = known is None or known.fingerprint != member.fingerprint
            if known is not None and known.remote_status == "rejected" and not fresh:
                result.unchanged += 1  # refused before with these very values
                continue
            if fresh:
                result.upserts.append(member)
            if known is None or not known.in_list:
                result.tags.append(member)
            elif not fresh:
                result.unchanged += 1
    wanted_ids = set(wanted)
    # A guest merged into another keeps the destination member (same address): nothing to take out.
    leaving = [guest_id for guest_id, known in known_rows.items()
               if guest_id not in wanted_ids and known.in_list and known.remote_id not in wanted_remote]
    result.resent = {guest_id for guest_id, known in known_rows.items() if known.pending}
    result.snapshot = members_of(sync.id, [row.guest_id for row in result.upserts + result.tags] + leaving)
    result.removals = [result.snapshot[guest_id] for guest_id in leaving]
    return result


def members_of(sync_id: int, guest_ids: list[int]) -> dict:
    """guest id -> AudienceMember of those ``guest_ids`` the sync has a snapshot row for."""
    found, ids = {}, sorted(set(guest_ids))
    for start in range(0, len(ids), READ_CHUNK):
        for member in db.session.scalars(select(AudienceMember).where(
                AudienceMember.sync_id == sync_id, AudienceMember.guest_id.in_(ids[start:start + READ_CHUNK]))):
            found[member.guest_id] = member
    return found
