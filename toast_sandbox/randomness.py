"""Deterministic randomness, GUIDs, money and time helpers shared by the sandbox generators.

Every generator draws from ``rng_for(seed, *parts)``: a ``random.Random`` seeded with a string, which Python
hashes with SHA-512 (stable across runs and independent of ``PYTHONHASHSEED``). Keying the generator on
(seed, restaurant, day, ...) lets any part of the world be rebuilt alone, in any order, with the same bytes.
"""
import random
from collections.abc import Sequence
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from portal.toast.timefmt import format_toast_ts

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
# Toast's placeholder for "not deleted" (DG:apiOrdersOrderObjectSummary).
EPOCH_TS = "1970-01-01T00:00:00.000+0000"
MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS


def rng_for(seed: int, *parts: object) -> random.Random:
    """A generator that depends only on ``seed`` and ``parts`` (e.g. ``"day", 0, "2024-05-01"``)."""
    return random.Random(":".join(str(part) for part in (seed, *parts)))


def new_guid(rng: random.Random) -> str:
    """A version-4 GUID drawn from ``rng`` (so it is reproducible); same text as ``uuid.UUID(int=..., version=4)``."""
    bits = (rng.getrandbits(128) & ~(0xF000 << 64) & ~(0xC000 << 48)) | (0x4000 << 64) | (0x8000 << 48)
    text = f"{bits:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def weighted(rng: random.Random, options: Sequence, weights: Sequence[float]):
    """One item of ``options`` picked with ``weights``."""
    return rng.choices(options, weights=weights, k=1)[0]


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth's method; the means used here are small)."""
    if mean <= 0:
        return 0
    if mean > 50:
        return max(0, round(rng.gauss(mean, mean**0.5)))
    threshold, count, product = 2.718281828459045 ** (-mean), 0, rng.random()
    while product > threshold:
        count += 1
        product *= rng.random()
    return count


def dollars(cents: int) -> float:
    """Cents as the double Toast sends (``12.5`` for 1250)."""
    return round(cents / 100, 2)


def pct_of(cents: int, percent: float) -> int:
    """``percent`` of ``cents``, rounded half up to a cent."""
    return int(cents * percent / 100 + 0.5)


def ts(ms: int | None) -> str | None:
    """Epoch milliseconds as a Toast timestamp (``2024-04-01T15:09:30.223+0000``); None stays None."""
    if ms is None:
        return None
    return format_toast_ts(EPOCH + timedelta(milliseconds=ms))


def webhook_ts(ms: int) -> str:
    """The envelope timestamp style of Toast's webhook example (``2024-03-28T15:11:01.050Z``)."""
    return ts(ms).replace("+0000", "Z")


def to_ms(moment: datetime) -> int:
    """An aware datetime as epoch milliseconds."""
    delta = moment.astimezone(timezone.utc) - EPOCH
    return delta.days * DAY_MS + delta.seconds * 1000 + delta.microseconds // 1000


def from_ms(ms: int) -> datetime:
    """Epoch milliseconds as an aware UTC datetime."""
    return EPOCH + timedelta(milliseconds=ms)


def business_date(ms: int, tz: ZoneInfo, closeout_hour: int) -> date:
    """The business day of instant ``ms``: the local date, counted from ``closeout_hour``.

    (DG:apiRestaurantBusinessDate: an order at 01:30 with a 04:00 closeout belongs to the previous day.)
    """
    local = from_ms(ms).astimezone(tz)
    return (local - timedelta(hours=closeout_hour)).date()


def business_int(day: date) -> int:
    """A business date as Toast's ``yyyymmdd`` integer."""
    return day.year * 10000 + day.month * 100 + day.day


def local_ms(day: date, minutes_after_midnight: float, tz: ZoneInfo) -> int:
    """Epoch ms of wall-clock ``day`` 00:00 plus some minutes in ``tz`` (wall-clock arithmetic, DST-aware)."""
    midnight = datetime(day.year, day.month, day.day, tzinfo=tz)
    return to_ms(midnight + timedelta(minutes=minutes_after_midnight))


def closeout_ms(day: date, tz: ZoneInfo, closeout_hour: int) -> int:
    """When business day ``day`` closes: the next local day at ``closeout_hour``."""
    return local_ms(day + timedelta(days=1), closeout_hour * 60, tz)
