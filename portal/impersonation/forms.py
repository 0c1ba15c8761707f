from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField
from wtforms.validators import DataRequired, Length

from portal.impersonation.service import REASON_MAX, REASON_MIN


class StartForm(FlaskForm):
    reason = StringField(
        "Reason or ticket number",
        validators=[DataRequired(message="give a reason or a ticket number"), Length(min=REASON_MIN, max=REASON_MAX)],
    )
    allow_changes = BooleanField("Allow changes in this session")
