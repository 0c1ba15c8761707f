"""Keeping guest PII out of logs.

- Access logs (werkzeug's development server, gunicorn's access log) carry request lines: guest search URLs have
  names, emails or phones in the query string (``/guests/?q=ann@example.com``) and unsubscribe links carry a
  token that acts for a guest. Both are redacted from those loggers' records.
- SQL statements carry guest data in their parameters (and rows at DEBUG): the SQLAlchemy engine logger never goes
  below WARNING even when the root logger is at DEBUG, and database errors never include parameters in their text
  (``hide_parameters``), so neither error logs nor tracebacks echo them.
"""
import logging
import re

ACCESS_LOGGERS = ("werkzeug", "gunicorn.access")
QUIET_LOGGERS = ("sqlalchemy.engine", "sqlalchemy.pool")
_QUERY = re.compile(r"(/[^\s?\"']*)\?[^\s\"']*")
_TOKEN_PATH = re.compile(r"(/u/)[^\s/?\"']+")


def redact(text: str) -> str:
    """A log line with query strings and unsubscribe tokens replaced."""
    return _TOKEN_PATH.sub(r"\1[token]", _QUERY.sub(r"\1?[redacted]", text))


class RedactRequestLines(logging.Filter):
    """Rewrites a record's message with query strings and unsubscribe tokens removed (formatted once, here)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken record is the logging module's business, not ours
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


_FILTER = RedactRequestLines()


def install(app) -> None:
    """Call before ``db.init_app``: engine options are read there."""
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    options.setdefault("hide_parameters", True)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    for name in ACCESS_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
    if not app.config.get("SQLALCHEMY_ECHO"):
        for name in QUIET_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)
