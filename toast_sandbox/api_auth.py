"""``POST /authentication/v1/authentication/login`` (SPEC:authentication).

The same token comes back on every login until its last minute (DG:apiAuthTokenRefresh); ``expiresIn`` is the
time left on it. Authentication responses carry no rate-limit headers.
"""
from flask import Blueprint, request

from toast_sandbox.api_common import ApiError, json_response, state
from toast_sandbox.state import AuthError

bp = Blueprint("toast_sandbox_auth", __name__, url_prefix="/authentication/v1")


@bp.post("/authentication/login")
def login():
    """Exchange client credentials for a bearer token. 400 for a non-JSON body, 401 for bad credentials."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "The request body must be a JSON AuthenticationRequest")
    try:
        token, expires_in = state().login(str(body.get("clientId", "")), str(body.get("clientSecret", "")),
                                          body.get("userAccessType"))
    except AuthError as error:
        raise ApiError(401, str(error), code=10010,
                       developer_message="Check clientId, clientSecret and userAccessType TOAST_MACHINE_CLIENT") \
            from None
    return json_response({
        "@class": ".SuccessfulResponse",
        "token": {"tokenType": "Bearer", "scope": None, "expiresIn": expires_in, "accessToken": token,
                  "idToken": None, "refreshToken": None},
        "status": "SUCCESS",
    })
