"""Errors a person caused and can fix; views show the message, the CLI prints it on one line."""


class InputError(ValueError):
    """Bad input: the message is safe to show (it never echoes guest PII)."""


class ConflictError(InputError):
    """The input clashes with existing data (a duplicate slug or email, the last owner...)."""
