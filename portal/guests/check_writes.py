"""The ``guest_checks`` writes of an order batch: run before identity resolution reads the table, or else in the
figures' round trip (``portal.guests.figures.recompute``), which counts them before they are in the table.

Most webhooks need no resolution (a known guest's next order, a refund), so their check writes cost no round trip
of their own.
"""
from dataclasses import dataclass, field
from types import SimpleNamespace

from sqlalchemy import bindparam

from portal.dbutil import expanding, expire_loaded
from portal.models.guest import GuestCheck

_checks = GuestCheck.__table__
DELETE = _checks.delete().where(_checks.c.id.in_(expanding("ids")))
UPDATE = _checks.update().where(_checks.c.id == bindparam("b_id"))
INSERT = _checks.insert().inline()  # no RETURNING of the new ids: it may run in a pipeline


@dataclass
class CheckWrites:
    slots: dict[int, int | None] = field(default_factory=dict)  # location id -> ``Location.slot``
    gone: list = field(default_factory=list)  # stored rows whose check is gone
    changed: list[tuple[object, dict]] = field(default_factory=list)  # (stored row, its new column values)
    added: list[dict] = field(default_factory=list)  # column values of new rows, ``guest_id`` set

    def __bool__(self) -> bool:
        return bool(self.gone or self.changed or self.added)

    @property
    def replaced(self) -> list:
        """The stored rows these writes delete or change."""
        return [*self.gone, *(row for row, _ in self.changed)]

    def execute(self, session) -> None:
        """Write them (Core statements on the session's connection; its objects of changed rows are expired)."""
        conn = session.connection()
        if self.gone:
            conn.execute(DELETE, {"ids": [row.id for row in self.gone]})
        if self.changed:
            conn.execute(UPDATE, [{"b_id": row.id, **values} for row, values in self.changed])
        if self.added:
            conn.execute(INSERT, self.added)
        expire_loaded(session, GuestCheck, [row.id for row in self.replaced])

    def overlay(self, rows: dict[int, list]) -> None:
        """Make ``rows`` (guest id -> the guest's rows, read before these writes) what they are after them."""
        keys = {(row.order_id, row.check_guid) for row in self.replaced}
        for guest_id in {row.guest_id for row in self.replaced}:
            rows[guest_id] = [r for r in rows[guest_id] if (r.order_id, r.check_guid) not in keys]
        for row, values in self.changed:
            rows[row.guest_id].append(self._row(row.guest_id, values))
        for values in self.added:
            rows[values["guest_id"]].append(self._row(values["guest_id"], values))

    def _row(self, guest_id: int | None, values: dict) -> SimpleNamespace:
        return SimpleNamespace(**{**values, "guest_id": guest_id}, location_slot=self.slots[values["location_id"]])
