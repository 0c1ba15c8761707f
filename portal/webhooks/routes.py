from flask import current_app, request

from portal.extensions import csrf
from portal.webhooks import bp
from portal.webhooks.lane import signal_pending
from portal.webhooks.service import DUPLICATE, IGNORED, RECEIVED, UNAVAILABLE, receive

RETRY_AFTER_S = 30


@bp.post("/toast/<token>")
@csrf.exempt  # authenticated by Toast's HMAC signature, not by a browser session
def toast(token):
    receipt = receive(
        token[:128], request.get_data(cache=False), request.headers.get("Toast-Signature"),
        request.headers.get("Toast-Attempt-Number"),
    )
    if receipt.outcome == RECEIVED:
        signal_pending(receipt.connection_id, receipt.org_id)  # stored: accepted even if Redis is down (the sweep)
        return {"status": "accepted"}, 202
    if receipt.outcome == UNAVAILABLE:
        return {"status": "unavailable"}, 503, {"Retry-After": str(RETRY_AFTER_S)}
    if receipt.outcome in (DUPLICATE, IGNORED):
        return {"status": receipt.outcome}, 200
    current_app.logger.info("webhook rejected (unknown token, bad signature or malformed envelope)")
    return {"status": "rejected"}, 401
