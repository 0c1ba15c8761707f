import json

from flask import Response, abort, redirect, render_template, request, stream_with_context, url_for
from flask_login import current_user

from portal.access import blocked_while_impersonating
from portal.errorpages import error_response
from portal.extensions import current_settings, db
from portal.models import Segment
from portal.scoring import service as guest_value
from portal.segments import exports, form, service
from portal.segments.blueprint import bp
from portal.segments.rules import CHANNELS, FIELDS, empty_rules, validate
from portal.tenancy import current_org, get_or_404
from portal.transaction import commit_or_error

# Rows added, removed or redrawn ask the builder form for a new preview once they are in the page.
RULES_CHANGED = json.dumps({"rules-changed": {"target": "#builder"}})


@bp.get("/")
def index():
    org = current_org()
    segments = service.segments_of(org.id)
    words = {s.id: service.plain_words(org.id, s.rules) for s in segments}
    return render_template("segments/index.html", segments=segments, words=words)


@bp.get("/<int:segment_id>/_count")
def count(segment_id):
    segment = get_or_404(Segment, segment_id)
    return render_template("segments/_count_badge.html",
                           members=service.count_members(segment.org_id, segment.rules))


@bp.get("/<int:segment_id>")
def show(segment_id):
    segment = get_or_404(Segment, segment_id)
    org_id = segment.org_id
    stats = service.stats(org_id, segment.rules)
    return render_template(
        "segments/show.html", words=service.plain_words(org_id, segment.rules), stats=stats,
        months=service.last_order_months(org_id, segment.rules), **_members_context(segment),
        waiting=service.waiting_figures(segment.rules, _unavailable_figures(org_id)),
    )


@bp.get("/<int:segment_id>/_members")
def members(segment_id):
    segment = get_or_404(Segment, segment_id)
    return render_template("segments/_members.html", **_members_context(segment))


@bp.get("/new")
def new():
    """The builder: empty, or started from the rules and name another page links with ("make a segment from
    this": an RFM group, a copy of a segment); rules that do not validate start it empty."""
    try:
        tree = validate(json.loads(request.args["rules"]))
    except (KeyError, ValueError):
        tree = empty_rules()
        tree["rules"].append(dict(form.DEFAULT_CONDITION))
    return _builder(None, tree, name=request.args.get("name", "")[:120])


@bp.post("/")
def create():
    return _save(None, lambda name, tree: service.create_segment(current_org().id, name, tree, current_user.id))


@bp.get("/<int:segment_id>/edit")
def edit(segment_id):
    segment = get_or_404(Segment, segment_id)
    return _builder(segment, segment.rules, name=segment.name)


@bp.post("/<int:segment_id>")
def update(segment_id):
    segment = get_or_404(Segment, segment_id)
    return _save(segment, lambda name, tree: service.update_segment(segment, name, tree))


def _save(segment, save):
    """The builder's form through ``save(name, rules)`` (create or update): the saved segment's page, or the
    builder again with the messages."""
    parsed = form.parse(request.form)
    name = request.form.get("name", "")
    if not parsed.valid:
        return _builder(segment, parsed.tree, name=name, parsed=parsed, status=422)
    saved, error = commit_or_error(lambda: save(name, parsed.tree))
    if error:
        return _builder(segment, parsed.tree, name=name, parsed=parsed, name_error=error, status=422)
    return redirect(url_for("segments.show", segment_id=saved.id), code=303)


@bp.post("/<int:segment_id>/delete")
def delete(segment_id):
    segment = get_or_404(Segment, segment_id)
    _, error = commit_or_error(lambda: service.delete_segment(segment))
    if error:
        return error_response(409, error)
    return redirect(url_for("segments.index"), code=303)


@bp.get("/<int:segment_id>/export.csv")
@blocked_while_impersonating
def export(segment_id):
    segment = get_or_404(Segment, segment_id)
    include = request.args.get("include_opted_out") == "1"
    result = exports.segment_csv(segment, include_opted_out=include, user=current_user)
    db.session.commit()  # the audit event of the download
    response = Response(stream_with_context(result.chunks), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{result.filename}"'
    response.headers["X-Excluded-Opted-Out"] = str(result.excluded)
    return response


# the builder's fragments ---------------------------------------------------------------------------------


@bp.post("/_preview")
def preview():
    """Count and first page for the rules in the builder form, with each condition's message (200 even when
    the rules are not valid: htmx swaps the inline messages in)."""
    parsed = form.parse(request.form)
    context = {"parsed": parsed, "page": None, "oob": True}
    if parsed.valid:
        context["page"] = service.members_page(current_org().id, parsed.tree)
    return render_template("segments/_preview.html", **context)


@bp.get("/_condition")
def condition_row():
    """A condition row: a new one (``parent``), or one redrawn for another field (``key`` and its inputs)."""
    key = request.args.get("key", "")
    parent = request.args.get("parent", form.ROOT)
    if not form.KEY_PATTERN.match(parent):
        abort(400)
    if form.KEY_PATTERN.match(key):
        node = _redrawn(key)
    else:
        key, node = form.new_key(), dict(form.DEFAULT_CONDITION)
    response = Response(render_template("segments/_condition.html", row=form.Row(key, parent, node), errors={},
                                        **_builder_choices()))
    response.headers["HX-Trigger-After-Settle"] = RULES_CHANGED
    return response


@bp.get("/_group")
def group_row():
    key = form.new_key()
    row = form.Row(key, form.ROOT, {"op": "and", "rules": []},
                   children=[form.Row(form.new_key(), key, dict(form.DEFAULT_CONDITION))])
    response = Response(render_template("segments/_group.html", row=row, errors={}, **_builder_choices()))
    response.headers["HX-Trigger-After-Settle"] = RULES_CHANGED
    return response


@bp.get("/_removed")
def removed():
    """Nothing: the row is removed in the page (hx-swap="delete"); the builder then previews again."""
    response = Response("")
    response.headers["HX-Trigger-After-Settle"] = RULES_CHANGED
    return response


def _redrawn(key: str) -> dict:
    """The row's condition after its field or operator changed: what still fits is kept."""
    args = request.args
    field = args.get(f"{key}.field", "")
    field = field if field in FIELDS else form.DEFAULT_CONDITION["field"]
    spec, same_field = FIELDS[field], args.get(f"{key}.was") == field
    operator = args.get(f"{key}.operator", "")
    node = {"field": field, "operator": operator if operator in spec.operators else spec.operators[0]}
    if same_field:
        node["value"] = args.getlist(f"{key}.value") if spec.kind == "set" else args.get(f"{key}.value", "")
        if node["operator"] == "between":
            node["value"] = [args.get(f"{key}.value", ""), args.get(f"{key}.value2", "")]
        node["window_days"] = args.get(f"{key}.window_days") or None
        node["among"] = args.get(f"{key}.among", "all")
    return node


def _builder(segment, tree: dict, *, name: str, parsed=None, name_error=None, status: int = 200):
    if parsed is None:
        parsed = form.Parsed(tree=tree, rows=form.rows(tree))
    page = service.members_page(current_org().id, tree) if parsed.valid else None
    choices = _builder_choices()
    context = dict(segment=segment, name=name, name_error=name_error, root_op=tree.get("op", "and"),
                   parsed=parsed, errors=parsed.errors, page=page,
                   unavailable_reasons=service.unavailable_reasons(choices["unavailable"]), **choices)
    return render_template("segments/edit.html", **context), status


def _builder_choices() -> dict:
    org_id = current_org().id
    return {"fields": FIELDS, "choices": service.choices(org_id), "channels": CHANNELS,
            "operator_labels": form.OPERATOR_LABELS, "value_text": form.value_text,
            "unavailable": _unavailable_figures(org_id)}


def _members_context(segment) -> dict:
    sort = request.args.get("sort", service.DEFAULT_SORT[0])
    direction = "asc" if request.args.get("direction") == "asc" else "desc"
    page_number = request.args.get("page", 1, type=int)
    page = service.members_page(segment.org_id, segment.rules, page=page_number, sort=sort, direction=direction)
    return {"segment": segment, "page": page, "sort": sort if sort in service.SORTS else service.DEFAULT_SORT[0],
            "direction": direction}


def _unavailable_figures(org_id: int) -> dict[str, str]:
    """Guest-value figures the organization's last fit did not produce, with why (portal.scoring.service)."""
    return guest_value.unavailable(guest_value.latest_fit(db.session, org_id),
                                   guest_value.Settings.of(current_settings()).thresholds)
