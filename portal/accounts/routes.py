from flask import render_template
from flask_login import current_user

from portal.access import owner_required
from portal.accounts import bp
from portal.accounts.forms import NewUserForm, RoleForm
from portal.accounts.service import change_role, create_user, remove_user
from portal.extensions import db
from portal.models import User
from portal.tenancy import current_org, get_or_404, scoped
from portal.transaction import commit_or_error


def _members():
    return db.session.scalars(scoped(User).where(User.disabled_at.is_(None)).order_by(User.email)).all()


def _render(form=None, *, error=None, created=None, password=None, changed=None, status=200, fragment=False):
    template = "accounts/_members.html" if fragment else "accounts/index.html"
    context = dict(form=form or NewUserForm(), members=_members(), role_form=RoleForm(), error=error,
                   created=created, password=password, changed=changed)
    return render_template(template, **context), status


@bp.get("/")
@owner_required
def index():
    return _render()


@bp.post("/")
@owner_required
def create():
    form = NewUserForm()
    if not form.validate_on_submit():
        return _render(form, status=400, fragment=True)  # each message beside its field
    created, error = commit_or_error(lambda: create_user(form.email.data, org=current_org(), role=form.role.data))
    if error:  # a bad or taken address: the role is a choice the form already checked
        form.email.errors = [_sentence(error)]
        return _render(form, status=400, fragment=True)
    user, password = created
    return _render(created=user, password=password, fragment=True)


@bp.post("/<int:user_id>/role")
@owner_required
def update_role(user_id):
    user = get_or_404(User, user_id)
    form = RoleForm()
    if not form.validate_on_submit():
        return _render(error=_first_error(form), status=400, fragment=True)
    _, error = commit_or_error(lambda: change_role(current_user, user, form.role.data))
    if error:
        return _render(error=_sentence(error), status=400, fragment=True)
    return _render(changed=user, fragment=True)


@bp.post("/<int:user_id>/remove")
@owner_required
def remove(user_id):
    user = get_or_404(User, user_id)
    _, error = commit_or_error(lambda: remove_user(current_user, user))
    return _render(error=_sentence(error) if error else None, status=400 if error else 200, fragment=True)


def _sentence(message: str) -> str:
    """The services' messages ("a user with this email already exists") as a sentence on the page."""
    return message[:1].upper() + message[1:].rstrip(".") + "."


def _first_error(form) -> str:
    for field, messages in form.errors.items():
        label = getattr(form, field).label.text if hasattr(form, field) else "form"
        return f"{label}: {messages[0]}"
    return "the form is not valid"
