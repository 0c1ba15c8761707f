"""The app's routes as test parameters, and a before/after picture of the database.

Built from app.url_map (like the cross-tenant matrix), so routes added later join every matrix that uses this.
"""
import functools
import re

import pytest
from sqlalchemy import select
from wtforms.fields.core import UnboundField

from portal import create_app
from portal.extensions import db
from tests.tenancy_rows import ROW_MAKERS

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# URL parameters that are not rows of an organization: any value reaches the code under test.
FREE_VALUES = {"token": lambda org: "not-a-real-token-0000000000000000"}
_PARAM = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


@functools.cache
def listing_app():
    """An app built only to list routes and view functions (at collection time, before any fixture)."""
    return create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "x"})


def write_rules(skip=lambda endpoint: False, marks=lambda endpoint: ()) -> list:
    """pytest params (endpoint, path, arguments, method) for every write method of every route."""
    params = []
    for rule in listing_app().url_map.iter_rules():
        if skip(rule.endpoint):
            continue
        for method in sorted((rule.methods or set()) & WRITE_METHODS):
            params.append(pytest.param(rule.endpoint, rule.rule, tuple(sorted(rule.arguments)), method,
                                       id=f"{method} {rule.rule}", marks=marks(rule.endpoint)))
    return params


def page_rules(skip=lambda endpoint: False) -> list:
    """pytest params (endpoint, path, arguments) for every GET route that renders a page (no `/_fragment`s)."""
    params = []
    for rule in listing_app().url_map.iter_rules():
        if "GET" not in (rule.methods or set()) or skip(rule.endpoint) or "/_" in rule.rule:
            continue
        params.append(pytest.param(rule.endpoint, rule.rule, tuple(sorted(rule.arguments)), id=f"GET {rule.rule}"))
    return params


def fill(path: str, arguments, org) -> str:
    """The URL with each parameter set to a row of ``org`` (tests/tenancy_rows.py) or a free value."""
    values = {}
    for name in arguments:
        maker = ROW_MAKERS.get(name) or FREE_VALUES.get(name)
        assert maker, f"no row maker for URL parameter <{name}> of {path}: add one to tests/tenancy_rows.py"
        values[name] = maker(org)
    return _PARAM.sub(lambda m: str(values[m.group(1)]), path)


def form_field_names() -> list[str]:
    """Every field name of every form in the portal (text, select, checkbox...), without the CSRF token."""
    from flask_wtf import FlaskForm

    listing_app()  # importing the blueprints imports their forms
    names, pending = set(), list(FlaskForm.__subclasses__())
    while pending:
        form_class = pending.pop()
        pending.extend(form_class.__subclasses__())
        names.update(name for name in dir(form_class) if isinstance(getattr(form_class, name), UnboundField))
    names.discard("csrf_token")
    return sorted(names)


def snapshot(session, exclude=()) -> dict:
    """Every row of every table (sorted), read straight from the database."""
    session.flush()
    picture = {}
    for table in db.metadata.sorted_tables:
        if table.name in exclude:
            continue
        picture[table.name] = sorted(repr(tuple(row)) for row in session.execute(select(table)))
    return picture
