"""Issue 4: cost of parsing ordersBulk pages into typed orders, against plain json.loads of the same bytes.

Pages come from the Toast sandbox (a 3-location group, 60 days), fetched through its HTTP interface.
Run: .venv/bin/python bench/toast_parse.py [--pages 40]
"""
import argparse
import json
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import best_of, report  # noqa: E402
from portal.toast.decoding import decode_orders  # noqa: E402
from portal.toast.timefmt import format_toast_ts  # noqa: E402
from toast_sandbox.app import create_sandbox_app  # noqa: E402
from toast_sandbox.clients import GROUP_CLIENT  # noqa: E402
from toast_sandbox.ratelimit import RateLimitConfig  # noqa: E402


def sandbox_pages(count: int) -> list[bytes]:
    """Up to ``count`` full ordersBulk pages of the last four weeks, location after location."""
    app = create_sandbox_app(seed=5, restaurants=3, days=60, rate_limits=RateLimitConfig(enabled=False))
    state, client = app.extensions["toast_sandbox"], app.test_client()
    credentials = state.credentials(GROUP_CLIENT)
    login = client.post("/authentication/v1/authentication/login", json={
        "clientId": credentials["client_id"], "clientSecret": credentials["client_secret"],
        "userAccessType": "TOAST_MACHINE_CLIENT"})
    headers = {"Authorization": f"Bearer {login.get_json()['token']['accessToken']}"}
    stop = datetime.fromtimestamp(state.now_ms / 1000, timezone.utc)
    window = {"startDate": format_toast_ts(stop - timedelta(days=28)), "endDate": format_toast_ts(stop), "pageSize": 100}
    pages = []
    for guid in state.restaurant_guids:
        for page in range(1, count + 1):
            response = client.get("/orders/v2/ordersBulk", query_string={**window, "page": page},
                                  headers={**headers, "Toast-Restaurant-External-ID": guid})
            if response.status_code != 200 or response.get_data() == b"[]" or len(pages) == count:
                break
            pages.append(response.get_data())
    return pages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=int, default=40)
    args = parser.parse_args()
    pages = sandbox_pages(args.pages)
    orders = sum(len(json.loads(page)) for page in pages)
    size = sum(len(page) for page in pages)
    loads = best_of(lambda: [json.loads(page) for page in pages], rounds=10)
    typed = best_of(lambda: [decode_orders(page) for page in pages], rounds=10)
    print(f"{len(pages)} sandbox pages, {orders} orders, {size / 1e6:.1f} MB")
    print(f"json.loads:    {orders / loads:,.0f} orders/s")
    print(f"decode_orders: {orders / typed:,.0f} orders/s (typed msgspec structs)")
    ratio = typed / loads
    report("parse cost / json.loads cost", f"{ratio:.2f}x", "<= 3x", ratio <= 3)


if __name__ == "__main__":
    main()
