"""Toast payloads for tests: the documentation sample order, adjusted per test, decoded by the real decoder."""
import copy
import json
import uuid
from pathlib import Path

from portal.toast.decoding import decode_order

SHARED = Path(__file__).resolve().parent / "fixtures"  # copies of the shared reference files
SAMPLE_ORDER = json.loads((SHARED / "toast-samples" / "order-get-single-example.json").read_text())


def order_dict(**changes) -> dict:
    """A copy of the sample order with top-level fields replaced (and a fresh GUID unless given)."""
    data = copy.deepcopy(SAMPLE_ORDER)
    data["guid"] = str(uuid.uuid4())
    data.update(changes)
    return data


def to_order(data: dict):
    return decode_order(json.dumps(data).encode())
