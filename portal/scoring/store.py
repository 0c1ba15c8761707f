"""Writing an organization's guest scores back in bulk: delete the old rows, insert the new ones, one transaction.

PostgreSQL gets a binary COPY (the fastest way in); SQLite an executemany of one prepared INSERT (portal.dialects).
Both run on the caller's connection and transaction, so readers see either the old scores or the new ones, and
the caller commits. Values are converted column by column (numpy -> Python lists), never per row through the ORM.
"""
from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import datetime

import numpy as np
from sqlalchemy import delete, select
from sqlalchemy.engine import Connection

from portal.dialects import dialect_of
from portal.models.guest import Guest
from portal.models.scores import GuestScore, ModelFit

CHUNK = 50_000
KEEP_FITS = 30  # fit records kept per organization (the page shows the latest; older ones help compare)
COLUMNS = (
    "guest_id", "org_id", "recency_score", "frequency_score", "monetary_score", "rfm_group", "p_alive",
    "expected_visits_90d", "predicted_value_12m_cents", "churn_band", "expected_next_visit_on", "scored_at",
)


@dataclass(frozen=True, slots=True)
class ScoreColumns:
    """One entry per guest. Model columns are None when the model is not backed, NaN/NaT for a missing value."""

    guest_id: np.ndarray
    recency_score: np.ndarray
    frequency_score: np.ndarray
    monetary_score: np.ndarray
    rfm_group: np.ndarray
    p_alive: np.ndarray | None = None
    expected_visits_90d: np.ndarray | None = None
    predicted_value_12m_cents: np.ndarray | None = None  # float, NaN = no value (rounded to whole cents here)
    churn_band: np.ndarray | None = None
    expected_next_visit_on: np.ndarray | None = None  # datetime64[D], NaT = none


def replace_scores(connection: Connection, org_id: int, scores: ScoreColumns, scored_at: datetime) -> int:
    """Delete the organization's scores and insert ``scores`` of the guests that still exist (a merge may have
    removed some since they were read); returns the number of rows written. Call it holding the organization's
    lock (portal.dbutil.lock_organization), so that no guest goes while it writes."""
    dialect = dialect_of(connection)
    scores = _of_existing_guests(connection, org_id, scores)
    with dialect.bulk_write_cache(connection):
        connection.execute(delete(GuestScore.__table__).where(GuestScore.__table__.c.org_id == org_id))
        stamp = _stored_value(connection, "scored_at", scored_at) if dialect.dates_as_text else scored_at
        total = len(scores.guest_id)
        for start in range(0, total, CHUNK):
            rows = _rows(scores, slice(start, min(start + CHUNK, total)), org_id, stamp,
                         dates_as_text=dialect.dates_as_text)
            dialect.write_rows(connection, "guest_scores", COLUMNS, _COLUMN_TYPES, rows)
    return total


def _of_existing_guests(connection: Connection, org_id: int, scores: ScoreColumns) -> ScoreColumns:
    guests = Guest.__table__.c
    existing = np.fromiter(connection.execute(select(guests.id).where(guests.org_id == org_id)).scalars(), np.int64)
    kept = np.isin(scores.guest_id, existing)
    if kept.all():
        return scores
    columns = {column.name: getattr(scores, column.name) for column in fields(scores)}
    return replace(scores, **{name: values[kept] for name, values in columns.items() if values is not None})


def prune_fits(connection: Connection, org_id: int, keep: int = KEEP_FITS) -> None:
    """Delete all but the ``keep`` newest fit records of the organization."""
    fits = ModelFit.__table__.c
    newest = select(fits.id).where(fits.org_id == org_id).order_by(fits.fitted_at.desc(), fits.id.desc()).limit(keep)
    kept = [row[0] for row in connection.execute(newest)]
    if kept:
        connection.execute(delete(ModelFit.__table__).where(fits.org_id == org_id, fits.id.not_in(kept)))


def _rows(scores: ScoreColumns, part: slice, org_id: int, stamp, *, dates_as_text: bool) -> list[tuple]:
    n = len(scores.guest_id[part])
    nothing = [None] * n
    p_alive = _floats(scores.p_alive, part, nothing)
    visits = _floats(scores.expected_visits_90d, part, nothing)
    value = nothing
    if scores.predicted_value_12m_cents is not None:
        cents = scores.predicted_value_12m_cents[part]
        value = [None if v != v else int(v) for v in np.round(cents).tolist()]  # v != v: NaN
    band = nothing if scores.churn_band is None else scores.churn_band[part].tolist()
    next_visit = nothing
    if scores.expected_next_visit_on is not None:
        days = scores.expected_next_visit_on[part]
        if dates_as_text:  # SQLite's Date storage format
            next_visit = [None if text == "NaT" else text for text in np.datetime_as_string(days, unit="D").tolist()]
        else:
            next_visit = days.astype(object).tolist()  # datetime.date, None for NaT
    return list(zip(
        scores.guest_id[part].tolist(), [org_id] * n, scores.recency_score[part].tolist(),
        scores.frequency_score[part].tolist(), scores.monetary_score[part].tolist(), scores.rfm_group[part].tolist(),
        p_alive, visits, value, band, next_visit, [stamp] * n,
    ))


def _floats(values: np.ndarray | None, part: slice, nothing: list) -> list:
    if values is None:
        return nothing
    return [None if v != v else v for v in values[part].tolist()]  # v != v: NaN


# The columns' types, for PostgreSQL's binary COPY.
_COLUMN_TYPES = ("bigint", "integer", "smallint", "smallint", "smallint", "varchar", "float8", "float8", "bigint",
                 "varchar", "date", "timestamptz")


def _stored_value(connection: Connection, column: str, value):
    """``value`` as SQLAlchemy itself would store it in this column (a raw INSERT bypasses types)."""
    processor = GuestScore.__table__.c[column].type.bind_processor(connection.dialect)
    return processor(value) if processor else value
