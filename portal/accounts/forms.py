from flask_wtf import FlaskForm
from wtforms import EmailField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from portal.models import ROLES

ROLE_CHOICES = list(ROLES)


class NewUserForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    # The least powerful role unless the owner chooses otherwise.
    role = SelectField("Role", choices=[SelectChoice(role, role.capitalize()) for role in ROLES], default="marketer",
                       validators=[DataRequired()])


class RoleForm(FlaskForm):
    role = SelectField("Role", choices=ROLE_CHOICES, validators=[DataRequired()])
