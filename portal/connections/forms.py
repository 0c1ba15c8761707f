from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional


class ConnectionForm(FlaskForm):
    host = StringField("Toast API host", validators=[DataRequired(), Length(max=255)],
                       default="https://ws-api.toasttab.com")
    client_id = StringField("Client ID", validators=[DataRequired(), Length(max=255)])
    client_secret = PasswordField("Client secret", validators=[DataRequired(), Length(max=1000)])
    webhook_secret = PasswordField("Webhook secret (orders subscription)", validators=[Optional(), Length(max=1000)])


class WebhookSecretForm(FlaskForm):
    webhook_secret = PasswordField("Webhook secret", validators=[
        DataRequired(message="Enter the webhook secret Toast gave you."), Length(max=1000)])


class ReconnectForm(FlaskForm):
    client_secret = PasswordField("New client secret", validators=[DataRequired(), Length(max=1000)])


class DiscoverForm(FlaskForm):
    guids = TextAreaField("Location GUIDs (optional)", validators=[Optional(), Length(max=20000)])
