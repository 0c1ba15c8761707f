"""Extension singletons, bound to an app in create_app. Nothing here connects at import time."""
from flask import Flask, current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from portal.models.base import Base
from portal.config import Settings

# Flask-SQLAlchemy's db.Model copies Base (same metadata and registry): the models subclass Base itself.
db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


def keep_settings(app: Flask) -> None:
    """Build the core's settings from the app's config, once (``create_app``, after the config is complete)."""
    app.extensions["portal.settings"] = Settings.from_config(app.config)


def current_settings() -> Settings:
    """The current app's settings, for the Flask-facing callers (routes, commands, jobs) of the core."""
    return current_app.extensions["portal.settings"]
