"""Guest privacy and consent: marketing opt-out (by hand, imported lists, signed one-click links), erasure, and
keeping guest PII out of logs.

Two blueprints (``blueprint.py``): ``privacy`` (members of the organization, under /guests) and ``unsubscribe``
(the signed links guests open from emails: no session, no CSRF token; the token is the credential).
"""
