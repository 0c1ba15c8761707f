"""Toast's timestamp format: ``yyyy-MM-dd'T'HH:mm:ss.SSS+0000`` (UTC, millisecond precision)."""
from datetime import datetime, timezone

_FORMAT = "%Y-%m-%dT%H:%M:%S.%f%z"


def format_toast_ts(moment: datetime) -> str:
    """Render an aware datetime as Toast expects it in query strings and payloads (always UTC)."""
    if moment.tzinfo is None:
        raise ValueError("Toast timestamps need an aware datetime")
    utc = moment.astimezone(timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}+0000"


def parse_toast_ts(text: str) -> datetime:
    """Parse a Toast timestamp (``...+0000``, ``...Z`` or ``+00:00`` offsets) into an aware UTC datetime."""
    normalized = text.strip()
    if normalized.endswith("Z"):
        normalized = normalized[:-1] + "+0000"
    return datetime.strptime(normalized, _FORMAT).astimezone(timezone.utc)
