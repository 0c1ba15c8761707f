from flask import Blueprint

bp = Blueprint("auth", __name__, template_folder="templates")

from portal.auth import routes  # noqa: E402,F401  (routes register on bp)
