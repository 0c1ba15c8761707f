"""Settings, read once from the environment with typed helpers. No hidden defaults for secrets."""
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

INSTANCE_DIR = Path(os.environ.get("PORTAL_INSTANCE_DIR", Path(__file__).resolve().parent.parent / "instance"))

# Pinned htmx build: the CDN copy and the npm package (`htmx.org`) serve these same bytes, so one SRI fits both.
HTMX_VERSION = "2.0.11"
HTMX_SRI = "sha384-2OatzQy1H+Zd/IIrjr1TcuDGqLXeHhbooAyJY1KdQMKnr4LZ22k31GBLdYKHmVjg"
HTMX_CDN_ORIGIN = "https://cdn.jsdelivr.net"
MIB = 1024 * 1024


@dataclass(frozen=True)
class Settings:
    """What the core reads of the settings, as one plain value built once from the app's config (``create_app``
    keeps it in ``app.extensions``; ``portal.extensions.current_settings`` hands it to routes, commands and jobs).
    Core modules take it, or the one value they need, as an argument: they read no ``current_app``."""

    secret_key: str | None
    base_url: str  # the portal as guests and Toast reach it: links in exports and emails, webhook URLs
    clv_annual_discount_rate: float  # guest value (portal.scoring): see from_env
    predict_min_repeat_guests: int
    predict_min_history_days: int

    @classmethod
    def from_config(cls, config: Mapping) -> "Settings":
        return cls(secret_key=config.get("SECRET_KEY"), base_url=config["PORTAL_BASE_URL"].rstrip("/"),
                   clv_annual_discount_rate=config["CLV_ANNUAL_DISCOUNT_RATE"],
                   predict_min_repeat_guests=config["PREDICT_MIN_REPEAT_GUESTS"],
                   predict_min_history_days=config["PREDICT_MIN_HISTORY_DAYS"])


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the message names it."""


def parse_bool(value: str | None, default: bool = False) -> bool:
    if value is None or value.strip() == "":
        return default
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"not a boolean: {value!r}")


def int_or_none(value: str | None) -> int | None:
    if value is None or value.strip() == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"not an integer: {value!r}") from None


def float_or_default(value: str | None, default: float) -> float:
    if value is None or value.strip() == "":
        return default
    try:
        return float(value)
    except ValueError:
        raise ConfigError(f"not a number: {value!r}") from None


def positive_int(value: str | None, default: int, name: str) -> int:
    """A whole number of at least 1; ConfigError (naming the setting) otherwise."""
    parsed = int_or_none(value)
    if parsed is None:
        return default
    if parsed < 1:
        raise ConfigError(f"{name} must be at least 1, got {parsed}")
    return parsed


def proxy_count(value: str | None) -> int:
    """How many reverse proxies stand in front of the app (0: none, trust no forwarding header)."""
    parsed = int_or_none(value)
    if parsed is None:
        return 0
    if not 0 <= parsed <= 5:
        raise ConfigError(f"TRUSTED_PROXIES must be a whole number from 0 to 5, got {parsed}")
    return parsed


def discount_rate(value: str | None, default: float = 0.10) -> float:
    """A yearly discount rate as a fraction (0.10 = 10 %), from 0 up to 1; ConfigError otherwise."""
    rate = float_or_default(value, default)
    if not 0 <= rate <= 1:
        raise ConfigError(f"CLV_ANNUAL_DISCOUNT_RATE must be a fraction from 0 to 1 (0.10 = 10%), got {rate}")
    return rate


def database_url(raw: str | None) -> str:
    """SQLite under instance/ by default; ``postgres://`` URLs (Heroku style) are mapped to psycopg 3."""
    if not raw:
        return f"sqlite:///{INSTANCE_DIR / 'portal.sqlite3'}"
    for prefix in ("postgres://", "postgresql://"):
        if raw.startswith(prefix):
            return "postgresql+psycopg://" + raw[len(prefix):]
    return raw


def from_env(env: dict[str, str] | None = None) -> dict:
    """Build the Flask config mapping from environment variables."""
    env = os.environ if env is None else env
    debug = parse_bool(env.get("FLASK_DEBUG"))
    redis_url = env.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    return {
        "SECRET_KEY": env.get("SECRET_KEY"),
        "PORTAL_ENCRYPTION_KEY": env.get("PORTAL_ENCRYPTION_KEY"),
        "SQLALCHEMY_DATABASE_URI": database_url(env.get("DATABASE_URL")),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        # How long a SQLite writer waits for another's write lock before the request answers 503 (portal.sqlite).
        "SQLITE_BUSY_TIMEOUT_S": float_or_default(env.get("SQLITE_BUSY_TIMEOUT_S"), 30.0),
        "REDIS_URL": redis_url,
        "RATELIMIT_STORAGE_URI": env.get("RATELIMIT_STORAGE_URI", redis_url),
        "RATELIMIT_SWALLOW_ERRORS": True,
        "LOGIN_RATE_LIMIT": env.get("LOGIN_RATE_LIMIT", "10 per minute;50 per hour"),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": not debug,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": not debug,
        "WTF_CSRF_TIME_LIMIT": None,
        "HTMX_SOURCE": env.get("HTMX_SOURCE", "cdn"),
        "HTMX_LOCAL_PATH": env.get(
            "HTMX_LOCAL_PATH", str(Path(__file__).resolve().parent.parent / "node_modules/htmx.org/dist/htmx.min.js")
        ),
        "PORTAL_BASE_URL": env.get("PORTAL_BASE_URL", "http://127.0.0.1:5000"),
        "TRUSTED_PROXIES": proxy_count(env.get("TRUSTED_PROXIES")),
        # Toast sync: history depth on connect (Toast's CRM cookbook: 12 weeks) and the spacing Toast asks
        # between historical ordersBulk calls (5-10 s).
        "TOAST_BACKFILL_DAYS": positive_int(env.get("TOAST_BACKFILL_DAYS"), 84, "TOAST_BACKFILL_DAYS"),
        "WEBHOOK_RETENTION_DAYS": positive_int(env.get("WEBHOOK_RETENTION_DAYS"), 30, "WEBHOOK_RETENTION_DAYS"),
        "TOAST_HISTORY_SPACING_S": float_or_default(env.get("TOAST_HISTORY_SPACING_S"), 5.0),
        # Order pages handed to workers at once (queued or running), fairly between organizations: enough to keep
        # every worker busy, few enough that a newly due location of a small organization waits one round at most.
        "SYNC_IN_FLIGHT": positive_int(env.get("SYNC_IN_FLIGHT"), 8, "SYNC_IN_FLIGHT"),
        # A page handed out and not finished within this is handed out again (its worker died); longer than a page.
        "SYNC_LEASE_S": float_or_default(env.get("SYNC_LEASE_S"), 150.0),
        # Whole request bodies (the Toast webhook sends 600 KB+); form posts get the lower limit below.
        "MAX_CONTENT_LENGTH": positive_int(env.get("MAX_CONTENT_LENGTH"), 5 * MIB, "MAX_CONTENT_LENGTH"),
        "MAX_FORM_CONTENT_LENGTH": positive_int(env.get("MAX_FORM_CONTENT_LENGTH"), 2 * MIB, "MAX_FORM_CONTENT_LENGTH"),
        # Flask's limit for each non-file form field (and for a whole url-encoded body).
        "MAX_FORM_MEMORY_SIZE": positive_int(env.get("MAX_FORM_MEMORY_SIZE"), 500_000, "MAX_FORM_MEMORY_SIZE"),
        "IMPERSONATION_MINUTES": positive_int(env.get("IMPERSONATION_MINUTES"), 30, "IMPERSONATION_MINUTES"),
        # Key of the hashes of erased guests' identifiers (portal.privacy.erasure); derived from SECRET_KEY when
        # unset. Set it before rotating SECRET_KEY, or erased identifiers stop being recognised.
        "ERASURE_HASH_KEY": env.get("ERASURE_HASH_KEY") or None,
        # Guest value (portal.scoring): the yearly rate that discounts predicted 12-month value.
        "CLV_ANNUAL_DISCOUNT_RATE": discount_rate(env.get("CLV_ANNUAL_DISCOUNT_RATE")),
        # Below these the page shows RFM only (the figures: 200 repeat guests, 90 days); lower for demos.
        "PREDICT_MIN_REPEAT_GUESTS": positive_int(env.get("PREDICT_MIN_REPEAT_GUESTS"), 200,
                                                  "PREDICT_MIN_REPEAT_GUESTS"),
        "PREDICT_MIN_HISTORY_DAYS": positive_int(env.get("PREDICT_MIN_HISTORY_DAYS"), 56, "PREDICT_MIN_HISTORY_DAYS"),
        "DEBUG": debug,
        "PORTAL_REQUIRE_SECRETS": not debug and parse_bool(env.get("PORTAL_REQUIRE_SECRETS"), True),
    }


def load_env_file(path: Path, environ=None) -> list[str]:
    """Set each ``NAME=value`` line of ``path`` that the environment does not set already (the environment wins);
    blank lines and ``#`` comments are skipped. Returns the names set; nothing when the file does not exist.

    Used for ``instance/dev.env``, the development secrets ``make run`` generates: ``flask`` commands typed in
    another terminal then find them without sourcing the file by hand. Production has no such file.
    """
    environ = os.environ if environ is None else environ
    if not path.is_file():
        return []
    loaded = []
    for line in path.read_text(encoding="utf-8").splitlines():
        name, sep, value = line.strip().partition("=")
        name = name.removeprefix("export ").strip()
        if not sep or not name or name.startswith("#") or name in environ:
            continue
        environ[name] = value.strip().strip("'\"")
        loaded.append(name)
    return loaded


def dev_env_file() -> Path:
    return INSTANCE_DIR / "dev.env"


def htmx_cdn_url() -> str:
    return f"{HTMX_CDN_ORIGIN}/npm/htmx.org@{HTMX_VERSION}/dist/htmx.min.js"


def check_secrets(config: dict) -> None:
    """Refuse to start without the two secrets: sessions and stored credentials depend on them."""
    missing = [name for name in ("SECRET_KEY", "PORTAL_ENCRYPTION_KEY") if not config.get(name)]
    if missing:
        raise ConfigError(f"missing required setting(s): {', '.join(missing)} (set them in the environment; "
                          f"in development `make run` generates them into {dev_env_file()}, which `flask` reads)")
