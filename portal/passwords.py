"""Password hashing and the strength rule shared by the web forms and the CLI."""
import secrets

from werkzeug.security import check_password_hash, generate_password_hash

MIN_LENGTH = 12
_COMMON = {"password1234", "123456789012", "qwertyuiop12", "letmein12345", "welcome12345", "passwordpassword"}


class WeakPasswordError(ValueError):
    """The password fails the strength rule; the message says which part."""


def hash_password(password: str) -> str:
    return generate_password_hash(password, method="scrypt")


def verify_password(password_hash: str, password: str) -> bool:
    return check_password_hash(password_hash, password)


def check_strength(password: str, email: str = "") -> None:
    """Raise WeakPasswordError unless the password is long, varied and not derived from the email."""
    if len(password) < MIN_LENGTH:
        raise WeakPasswordError(f"password must be at least {MIN_LENGTH} characters")
    if len(set(password)) < 5:
        raise WeakPasswordError("password must use at least 5 different characters")
    if password.lower() in _COMMON:
        raise WeakPasswordError("password is too common")
    local_part = email.split("@")[0].lower()
    if len(local_part) >= 4 and local_part in password.lower():
        raise WeakPasswordError("password must not contain the email address")


def generate_password() -> str:
    """A random password that passes check_strength, shown to a person once."""
    return secrets.token_urlsafe(15)
