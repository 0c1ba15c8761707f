"""API client accounts the sandbox accepts, and the JWT access tokens it issues to them.

Tokens are HS256 JWTs signed with a per-seed sandbox key, carrying the claims Toast documents
(DG:authentication): ``scope`` (space separated), ``https://toasttab.com/access_type``, the partner or
management-group GUID, ``client_name``, ``type``, and the standard ``iss/sub/aud/iat/exp/azp/gty``.
"""
import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

CRM_SCOPES = ("config:read", "labor:read", "labor.employees:read", "menus:read", "orders:read", "restaurants:read",
              "guest.pi:read", "delivery_info.address:read")
GROUP_CLIENT = "sandbox-group-client"
PARTNER_CLIENT = "sandbox-partner-client"
LIMITED_CLIENT = "sandbox-limited-client"
ACCESS_TYPE = "TOAST_MACHINE_CLIENT"
ISSUER = "https://toast-sandbox.tablecloth.invalid/"
AUDIENCE = "https://toast-services-api/"
CLAIM = "https://toasttab.com/"


@dataclass(frozen=True, slots=True)
class ClientAccount:
    """One API client: its secret, scopes, account kind (``group`` or ``partner``) and reachable locations."""
    client_id: str
    secret: str
    scopes: frozenset[str]
    kind: str
    restaurants: tuple[str, ...]
    name: str
    account_guid: str

    def can_reach(self, restaurant_guid: str) -> bool:
        """True when this client may send ``Toast-Restaurant-External-ID: restaurant_guid``."""
        return restaurant_guid in self.restaurants


def derive_secret(seed: int, client_id: str) -> str:
    """The default secret of ``client_id`` for ``seed`` (so demos can be scripted)."""
    return hashlib.sha256(f"toast-sandbox:{seed}:{client_id}".encode()).hexdigest()[:48]


def group_client_id(group: int) -> str:
    """The client ID of management group ``group``'s own API client (the first group's is GROUP_CLIENT)."""
    return GROUP_CLIENT if group == 0 else f"{GROUP_CLIENT}-{group + 1}"


def default_client_specs(groups: list[tuple[str, list[str]]]) -> dict[str, dict]:
    """Per group (``(group GUID, its location GUIDs)``) a group client with every CRM scope reaching only that
    group's locations; a partner client reaching all locations but the last (when there are several), and a
    client of the first group without ``guest.pi:read``/``delivery_info.address:read``."""
    restaurant_guids = [guid for _, guids in groups for guid in guids]
    partner_reach = restaurant_guids[:-1] if len(restaurant_guids) > 1 else restaurant_guids
    limited = [scope for scope in CRM_SCOPES if scope not in ("guest.pi:read", "delivery_info.address:read")]
    specs = {group_client_id(index): {"kind": "group", "group": index, "scopes": CRM_SCOPES,
                                      "name": "Tablecloth sandbox (group)" if index == 0
                                      else f"Tablecloth sandbox (group {index + 1})"}
             for index in range(len(groups))}
    specs[PARTNER_CLIENT] = {"kind": "partner", "scopes": CRM_SCOPES, "restaurants": partner_reach,
                             "name": "Tablecloth sandbox (partner)"}
    specs[LIMITED_CLIENT] = {"kind": "group", "scopes": limited, "name": "Tablecloth sandbox (no guest PI)"}
    return specs


def build_accounts(seed: int, groups: list[tuple[str, list[str]]],
                   specs: dict[str, dict] | None) -> dict[str, ClientAccount]:
    """Accounts from the defaults overridden by ``specs`` (client_id -> {secret, scopes, kind, group, restaurants,
    name}); ``groups`` lists ``(group GUID, its location GUIDs)``.

    A group client belongs to ``group`` (an index, default the first); ``restaurants`` may list GUIDs or location
    indexes, and omitted means every location of its group (a partner: every location). Raises ValueError for an
    unknown kind, group or restaurant.
    """
    merged = default_client_specs(groups)
    for client_id, spec in (specs or {}).items():
        merged[client_id] = {**merged.get(client_id, {}), **spec}
    return {client_id: _account(seed, groups, client_id, spec) for client_id, spec in merged.items()}


def _account(seed: int, groups: list[tuple[str, list[str]]], client_id: str, spec: dict) -> ClientAccount:
    kind = spec.get("kind", "group")
    if kind not in ("group", "partner"):
        raise ValueError(f"client {client_id}: kind must be 'group' or 'partner'")
    restaurant_guids = [guid for _, guids in groups for guid in guids]
    if kind == "partner":
        account_guid, own = str(uuid.uuid5(uuid.NAMESPACE_URL, f"partner:{client_id}")), restaurant_guids
    else:
        group = spec.get("group", 0)
        if not isinstance(group, int) or not 0 <= group < len(groups):
            raise ValueError(f"client {client_id}: unknown group {group!r}")
        account_guid, own = groups[group]
    wanted = spec.get("restaurants")
    return ClientAccount(
        client_id=client_id, secret=spec.get("secret") or derive_secret(seed, client_id),
        scopes=frozenset(spec.get("scopes", CRM_SCOPES)), kind=kind,
        restaurants=tuple(own) if wanted is None else _restaurants(restaurant_guids, wanted),
        name=spec.get("name", client_id), account_guid=account_guid,
    )


def _restaurants(all_guids: list[str], wanted: Iterable) -> tuple[str, ...]:
    picked = []
    for item in wanted:
        guid = all_guids[item] if isinstance(item, int) else item
        if guid not in all_guids:
            raise ValueError(f"unknown restaurant {item!r}")
        picked.append(guid)
    return tuple(picked)


def token_key(seed: int) -> bytes:
    """The HMAC key the sandbox signs its JWTs with."""
    return hashlib.sha256(f"toast-sandbox-jwt:{seed}".encode()).digest()


def token_claims(account: ClientAccount, issued_at: int, expires_at: int) -> dict:
    """The JWT payload Toast puts in a machine-client access token."""
    owner = "management_set_guid" if account.kind == "group" else "partner_guid"
    return {
        "iss": ISSUER, "sub": f"{account.client_id}@clients", "aud": AUDIENCE, "iat": issued_at, "exp": expires_at,
        "azp": account.client_id, "gty": "client-credentials", "scope": " ".join(sorted(account.scopes)),
        f"{CLAIM}access_type": ACCESS_TYPE, f"{CLAIM}{owner}": account.account_guid,
        f"{CLAIM}client_name": account.name, f"{CLAIM}type": "m2m",
    }


def encode_jwt(claims: dict, key: bytes) -> str:
    """An HS256-signed compact JWT."""
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
    signature = hmac.new(key, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


def decode_jwt(token: str, key: bytes) -> dict | None:
    """The claims of a JWT signed with ``key``; None when malformed or the signature does not match."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    expected = _b64(hmac.new(key, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(expected, parts[2]):
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return None
    return claims if isinstance(claims, dict) else None


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
