"""WSGI entry point: ``gunicorn wsgi:app`` and ``flask --app wsgi``."""
import sys

from portal import create_app
from portal.config import ConfigError

try:
    app = create_app()
except ConfigError as exc:  # a missing or malformed setting: one line, not a traceback, for gunicorn and `flask`
    sys.exit(f"Tablecloth cannot start: {exc}")
