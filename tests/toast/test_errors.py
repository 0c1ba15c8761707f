"""Error classification of Toast responses and the messages the errors carry."""
import httpx
import pytest

from portal.toast.errors import (
    AuthError,
    FatalAPIError,
    PayloadError,
    RetryableAPIError,
    ToastError,
    TokenBudgetExceeded,
    error_from_response,
    parse_retry_after,
)
from tests.toast.conftest import T0, json_response


def _response(status, body=None, headers=None, *, raw: bytes | None = None) -> httpx.Response:
    response = json_response(status, body, headers) if raw is None else httpx.Response(status, content=raw)
    response.request = httpx.Request("GET", "https://toast.test/orders/v2/orders/abc")
    return response


@pytest.mark.parametrize("status", [401, 403])
def test_401_and_403_are_auth_errors_with_a_reconnect_reason(status):
    error = error_from_response(_response(status, {"message": "Access denied", "requestId": "r-1"}), now=T0)
    assert isinstance(error, AuthError)
    assert error.status == status and error.request_id == "r-1"
    assert "Access denied" in error.reason and "reconnect" in error.reason.lower()


def test_429_is_retryable_and_keeps_retry_after():
    error = error_from_response(_response(429, {"message": "slow down"}, {"Retry-After": "7"}), now=T0)
    assert isinstance(error, RetryableAPIError)
    assert error.retry_after == 7.0 and error.status == 429


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_is_retryable_without_retry_after(status):
    error = error_from_response(_response(status, {"message": "oops"}), now=T0)
    assert isinstance(error, RetryableAPIError)
    assert error.retry_after is None and error.status == status


def test_other_4xx_is_fatal_and_keeps_toasts_error_message():
    body = {"status": 400, "code": 10021, "message": "startDate must be before endDate", "requestId": "req-9"}
    error = error_from_response(_response(400, body), now=T0)
    assert isinstance(error, FatalAPIError) and not isinstance(error, RetryableAPIError)
    assert error.status == 400
    assert error.message == "startDate must be before endDate"
    assert error.request_id == "req-9"
    assert error.error["code"] == 10021
    assert "GET /orders/v2/orders/abc" in str(error)


def test_fatal_error_without_json_body_falls_back_to_reason_phrase():
    error = error_from_response(_response(404, raw=b"<html>not found</html>"), now=T0)
    assert isinstance(error, FatalAPIError)
    assert error.status == 404 and error.request_id is None
    assert "Not Found" in error.message


def test_retry_after_parses_seconds_and_http_dates():
    assert parse_retry_after("12", T0) == 12.0
    assert parse_retry_after(" 0 ", T0) == 0.0
    assert parse_retry_after("Tue, 14 Nov 2023 22:15:30 GMT", 1_700_000_100.0) == pytest.approx(30.0)
    assert parse_retry_after("soon", T0) is None
    assert parse_retry_after(None, T0) is None


def test_token_budget_error_says_why_and_when():
    error = TokenBudgetExceeded("Toast answered 401", allowed_at=T0 + 600, now=T0, recent=2, limit=2)
    assert error.retry_after == 600
    text = str(error)
    assert "Toast answered 401" in text and "2023-11-14 22:25:00 UTC" in text and "in 600 s" in text


def test_every_error_is_a_toast_error_and_payload_error_is_a_value_error():
    for cls in (AuthError, RetryableAPIError, FatalAPIError, TokenBudgetExceeded, PayloadError):
        assert issubclass(cls, ToastError)
    assert issubclass(PayloadError, ValueError)
    error = PayloadError("order x: checks[0].amount: bad", path="checks[0].amount", order_guid="x")
    assert (error.path, error.order_guid) == ("checks[0].amount", "x")
