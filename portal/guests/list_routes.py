"""The guest list's columns, its total count (asked for after the page shows) and its bulk actions: tag, opt out.

A bulk action is two posts from the list: the first answers a confirmation naming how many guests it will touch,
the second (``confirm``) applies it, if that count still holds, and redraws the list.
"""
from flask import render_template, request
from flask_login import current_user

from portal.errors import InputError
from portal.guests import bulk
from portal.guests.blueprint import bp
from portal.guests.queries import NULLABLE_SORTS, SORTS, ListQuery, list_page
from portal.guests.routes import list_query
from portal.guests.service import clean_tag
from portal.templating import day, money, number
from portal.tenancy import current_org
from portal.transaction import commit_or_error

def figure(guest, key: str) -> str:
    """One figure of the list (a ``queries.SORTS`` key) as the list shows it: a date, money or a count."""
    name = SORTS[key][0].key
    value = getattr(guest, name)
    if key in NULLABLE_SORTS:
        return day(value)
    return money(value) if name.endswith("_cents") else number(value)


@bp.context_processor
def list_columns():
    return {"figure": figure}


@bp.get("/_count")
def count():
    query, _ = list_query()
    return render_template("guests/_count.html", total=bulk.count(current_org().id, bulk.Target(query, everyone=True)),
                           query=query)


@bp.post("/bulk")
def bulk_action():
    action = request.form.get("action", "")
    if action not in ("tag", "opt_out"):
        return render_template("guests/_bulk_panel.html", action=None)
    org_id = current_org().id
    try:
        target = bulk.Target.from_form(request.form)
    except InputError as exc:
        return _panel(action, None, error=str(exc), status=422)
    total = bulk.count(org_id, target)
    if request.form.get("confirm") != "1":
        return _panel(action, target, total=total)
    if request.form.get("expected") != str(total):
        return _panel(action, target, total=total, error="The list changed meanwhile: check the count and confirm again.",
                      status=409)
    if action == "tag":
        changed, error = commit_or_error(lambda: bulk.tag(org_id, target, request.form.get("tag", ""), current_user.id))
    else:
        changed, error = commit_or_error(lambda: bulk.opt_out(org_id, target))
    if error:
        return _panel(action, target, total=total, error=error, status=422)
    return render_template("guests/_bulk_done.html", action=action, changed=changed, total=total,
                           tag=clean_tag(request.form.get("tag")) if action == "tag" else None, **redrawn_list(target.query))


def redrawn_list(query: ListQuery) -> dict:
    """What ``guests/_list.html`` needs, to redraw the list after a bulk action (out of band)."""
    return {"page": list_page(current_org().id, query), "query": query}


def _panel(action, target, *, total=None, error=None, status=200):
    return render_template("guests/_bulk_panel.html", action=action, target=target, total=total, error=error,
                           tag=request.form.get("tag", "")), status
