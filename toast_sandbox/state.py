"""The running sandbox: the generated world, the sandbox clock, client accounts, tokens, and the mutation API.

Tests and demos change the world through this object (``app.extensions["toast_sandbox"]``). World time is
``now`` of the generated world plus whatever ``advance_time`` added; with ``live=True`` it starts at the clock's
time and follows it, so a demo server produces traffic as real time passes. Every change stamps the order's
``modifiedDate`` with the world time and lands in ``changes`` (what the webhook sender reads).
"""
import copy
import hmac
import threading
import time
from collections.abc import Callable
from datetime import timedelta

from toast_sandbox.clients import (ACCESS_TYPE, GROUP_CLIENT, ClientAccount, build_accounts, decode_jwt,
                                          derive_secret, encode_jwt, group_client_id, token_claims, token_key)
from toast_sandbox.generator import World
from toast_sandbox.generator_checks import ref
from toast_sandbox.generator_events import OPENED_TO_MODIFIED_MS, Event
from toast_sandbox.generator_orders import DayPlanner, regenerate_guids
from toast_sandbox.generator_people import CHANNELS
from toast_sandbox.order_store import Change, OrderStore
from toast_sandbox.randomness import MINUTE_MS, business_int, new_guid, rng_for

TOKEN_LIFETIME = 86_400
RENEW_WINDOW = 60


class AuthError(Exception):
    """Login refused: unknown client, wrong secret, revoked client or wrong ``userAccessType``."""


class UnknownOrder(LookupError):
    """No order with that GUID at that location."""


class SandboxState:
    """Thread-safe facade over the world, its orders and its clients."""

    def __init__(self, world: World, *, clients: dict | None = None, clock: Callable[[], float] | None = None,
                 live: bool = False, config_page_size: int = 2):
        self.world = world
        self.clock = clock or time.time
        self.live = live
        self.config_page_size = config_page_size
        self.accounts = build_accounts(
            world.seed, [(group.guid, [world.restaurants[index].guid for index in group.restaurant_indexes])
                         for group in world.groups], clients)
        self.revoked: set[str] = set()
        self.webhook_secret = derive_secret(world.seed, "webhook")
        self.config_versions = {guid: 1 for guid in self.restaurant_guids}
        self.config_touched: dict[str, int] = {}
        self.menu_published: dict[str, int] = {}
        self.store = OrderStore(world, world.now_ms)
        self._tokens: dict[str, tuple[str, int]] = {}
        self._clock_start = self.clock()
        # Live worlds catch up with the clock first (the default "now" is truncated to the hour).
        self._offset_ms = max(0, int(self._clock_start * 1000) - world.now_ms) if live else 0
        self._added = 0
        self.lock = threading.RLock()
        if live:
            self.refresh()

    # -- identity ----------------------------------------------------------------------------------------------

    @property
    def group_guid(self) -> str:
        """The (first) management group's GUID."""
        return self.world.group_guid

    @property
    def group_guids(self) -> list[str]:
        """Every management group's GUID, in group order."""
        return [group.guid for group in self.world.groups]

    def group_guid_of(self, restaurant_guid: str) -> str:
        """The management group of a location; raises KeyError if unknown."""
        return self.world.groups[self.world.restaurants[self.index_of(restaurant_guid)].group].guid

    @property
    def restaurant_guids(self) -> list[str]:
        """Location GUIDs, in index order."""
        return [restaurant.guid for restaurant in self.world.restaurants]

    def credentials(self, client_id: str = GROUP_CLIENT) -> dict:
        """What a client needs to connect: id, secret, scopes, kind and reachable locations."""
        account = self.accounts[client_id]
        group_guid = account.account_guid if account.kind == "group" else self.group_guid
        return {"client_id": account.client_id, "client_secret": account.secret, "scopes": sorted(account.scopes),
                "kind": account.kind, "management_group_guid": group_guid,
                "restaurant_guids": list(account.restaurants), "webhook_secret": self.webhook_secret}

    def fleet_credentials(self) -> list[dict]:
        """Per management group: its brand and the credentials of its own group client."""
        return [{"group": group.brand, **self.credentials(group_client_id(group.index))}
                for group in self.world.groups]

    # -- time --------------------------------------------------------------------------------------------------

    @property
    def now_ms(self) -> int:
        """World time in epoch milliseconds."""
        drift = int((self.clock() - self._clock_start) * 1000) if self.live else 0
        return self.world.now_ms + self._offset_ms + drift

    def refresh(self) -> list[Change]:
        """Bring the orders up to world time (opens due orders, applies due events)."""
        with self.lock:
            return self.store.advance(self.now_ms)

    def advance_time(self, **delta) -> list[Change]:
        """Move world time forward by a ``timedelta(**delta)`` (e.g. ``hours=2``) and return what changed."""
        step = timedelta(**delta)
        if step < timedelta(0):
            raise ValueError("time only moves forward")
        with self.lock:
            self._offset_ms += int(step.total_seconds() * 1000)
            return self.store.advance(self.now_ms)

    def simulate_traffic(self, minutes: int = 60, orders: int = 0) -> list[Change]:
        """Let ``minutes`` of service pass, plus ``orders`` extra orders at random moments in that span."""
        with self.lock:
            start = self.now_ms
            rng = rng_for(self.world.seed, "traffic", start)
            for _ in range(orders):
                index = rng.randrange(len(self.world.restaurants))
                moment = start + rng.randrange(1, max(2, minutes * MINUTE_MS))
                self._schedule_new(index, rng.choice(CHANNELS), None, moment)
            return self.advance_time(minutes=minutes)

    # -- authentication ----------------------------------------------------------------------------------------

    def login(self, client_id: str, secret: str, access_type: str | None) -> tuple[str, int]:
        """(access token, seconds until it expires). The same token comes back until its last minute.

        Raises AuthError for unknown/revoked clients, a wrong secret or ``userAccessType``.
        """
        account = self.accounts.get(client_id)
        known = account is not None and hmac.compare_digest(account.secret.encode(), secret.encode())
        if not known or client_id in self.revoked or access_type != ACCESS_TYPE:
            raise AuthError("Invalid client credentials")
        with self.lock:
            now = int(self.clock())
            cached = self._tokens.get(client_id)
            if cached is None or cached[1] - now <= RENEW_WINDOW:
                expires = now + TOKEN_LIFETIME
                cached = (encode_jwt(token_claims(account, now, expires), token_key(self.world.seed)), expires)
                self._tokens[client_id] = cached
            return cached[0], cached[1] - now

    def authenticate(self, token: str) -> ClientAccount | None:
        """The client a bearer token belongs to; None if forged, expired or revoked."""
        claims = decode_jwt(token, token_key(self.world.seed))
        if claims is None or claims.get("exp", 0) <= self.clock():
            return None
        account = self.accounts.get(claims.get("azp", ""))
        if account is None or account.client_id in self.revoked:
            return None
        return account

    def revoke(self, client_id: str) -> None:
        """Revoke a client: its tokens and logins get 401 until ``restore``."""
        with self.lock:
            self.revoked.add(client_id)
            self._tokens.pop(client_id, None)

    def restore(self, client_id: str) -> None:
        """Undo ``revoke``."""
        with self.lock:
            self.revoked.discard(client_id)

    # -- configuration -----------------------------------------------------------------------------------------

    def publish_config_change(self, restaurant_guid: str, touched: tuple[str, ...] = ()) -> int:
        """A restaurant publishes configuration: page tokens issued before now get 409. ``touched`` entity GUIDs
        count as modified now for ``lastModified`` filters. Returns the new configuration version."""
        with self.lock:
            self.config_versions[restaurant_guid] += 1
            for guid in touched:
                self.config_touched[guid] = self.now_ms
            return self.config_versions[restaurant_guid]

    def publish_menu_change(self, restaurant_guid: str) -> None:
        """A restaurant republishes its menus: ``/metadata`` and ``/menus`` report a newer ``lastUpdated``."""
        with self.lock:
            self.menu_published[restaurant_guid] = self.now_ms

    # -- orders: queries ---------------------------------------------------------------------------------------

    def index_of(self, restaurant_guid: str) -> int:
        """Location index of a GUID; raises KeyError if unknown."""
        restaurant = self.world.restaurant_by_guid(restaurant_guid)
        if restaurant is None:
            raise KeyError(restaurant_guid)
        return restaurant.index

    def order(self, restaurant_guid: str, order_guid: str) -> dict:
        """The stored order (live document: copy before changing). Raises UnknownOrder."""
        with self.lock:
            found = self.store.find(self.index_of(restaurant_guid), order_guid)
        if found is None:
            raise UnknownOrder(order_guid)
        return found

    def orders_modified_between(self, restaurant_guid: str, start_ms: int, end_ms: int) -> list[dict]:
        """What ordersBulk would serve (full scopes) for [start_ms, end_ms), without the one-month limit."""
        with self.lock:
            return self.store.modified_between(self.index_of(restaurant_guid), start_ms, end_ms)

    def changes_since(self, seq: int) -> list[Change]:
        """Change-log entries with ``seq`` >= the given one."""
        with self.lock:
            return self.store.changes[seq:]

    # -- orders: mutations -------------------------------------------------------------------------------------

    def void_order(self, order_guid: str) -> dict:
        """Void a whole order."""
        return self._mutate(order_guid, "void", {})

    def void_check(self, order_guid: str, check_guid: str | None = None) -> dict:
        """Void one check (the first live one by default)."""
        return self._mutate(order_guid, "void_check", {"check": check_guid or self._first_check(order_guid)})

    def refund(self, order_guid: str, amount: float | None = None) -> dict:
        """Refund ``amount`` dollars of the first card (else any) payment; None refunds all of it and its tip."""
        payment = self._first_payment(order_guid)
        cents = None if amount is None else round(amount * 100)
        return self._mutate(order_guid, "refund", {"payment": payment, "amount": cents,
                                                   "transaction": new_guid(rng_for(self.world.seed, "refund",
                                                                                   order_guid, self.now_ms))})

    def reopen_check(self, order_guid: str, check_guid: str | None = None) -> dict:
        """Move a closed check back to ``OPEN``."""
        return self._mutate(order_guid, "reopen", {"check": check_guid or self._first_check(order_guid)})

    def combine_orders(self, absorbed_guid: str, into_guid: str) -> dict:
        """Combine ``absorbed``'s first check into ``into``; ``absorbed`` becomes deleted. Returns ``into``."""
        with self.lock:
            moved = copy.deepcopy(self._find_anywhere(absorbed_guid)["checks"][0])
            regenerate_guids(rng_for(self.world.seed, "combine", absorbed_guid), moved)
            self._mutate(into_guid, "absorb", {"check": moved})
            self._mutate(absorbed_guid, "delete", {})
            return self._find_anywhere(into_guid)

    def add_order(self, restaurant_guid: str, channel: str = "takeout_online", guest_index: int | None = None) -> str:
        """Open a new order now (its payment and later events follow as time advances). Returns its GUID.

        ``channel`` is one of generator_people.CHANNELS. Raises KeyError for an unknown restaurant/channel.
        """
        if channel not in CHANNELS:
            raise KeyError(channel)
        with self.lock:
            self.refresh()
            return self._schedule_new(self.index_of(restaurant_guid), channel, guest_index,
                                      self.now_ms - OPENED_TO_MODIFIED_MS)

    def _schedule_new(self, index: int, channel: str, guest_index: int | None, created_ms: int) -> str:
        self._added += 1
        day = self.world.business_day(index, created_ms)
        planner = DayPlanner(self.world, index, day)
        planner.rng = rng_for(self.world.seed, "added", self._added)
        guest = (self.world.guests[guest_index] if guest_index is not None
                 else planner.rng.choice(self.world.guests_of(index)))
        planned = planner.order_at(channel, None if channel == "dine_anon" else guest, created_ms)
        self.store.ensure_day(index, day)
        planned.order["displayNumber"] = str(len(self.store.days[(index, day)]) + 1)
        self.store.schedule(index, day, planned, log=True)
        return planned.guid

    def _mutate(self, order_guid: str, name: str, payload: dict) -> dict:
        with self.lock:
            self.refresh()
            order = self._find_anywhere(order_guid)
            index = self.store.meta[order_guid].restaurant
            restaurant = self.world.restaurants[index]
            at = self.now_ms
            payload = {"biz": business_int(self.world.business_day(index, at)), "user": None,
                       "reason": ref(restaurant.void_reason.guid, "VoidReason"), **payload}
            self.store.mutate(order_guid, Event(at, name, payload))
            return order

    def _find_anywhere(self, order_guid: str) -> dict:
        for index in range(len(self.world.restaurants)):
            found = self.store.find(index, order_guid)
            if found is not None:
                return found
        raise UnknownOrder(order_guid)

    def _first_check(self, order_guid: str) -> str:
        with self.lock:
            order = self._find_anywhere(order_guid)
        checks = [check for check in order["checks"] if not check["voided"] and not check["deleted"]]
        if not checks:
            raise UnknownOrder(f"{order_guid} has no live check")
        return checks[0]["guid"]

    def _first_payment(self, order_guid: str) -> str:
        with self.lock:
            order = self._find_anywhere(order_guid)
        payments = [payment for check in order["checks"] for payment in check["payments"]]
        payments.sort(key=lambda payment: payment["type"] != "CREDIT")
        if not payments:
            raise UnknownOrder(f"{order_guid} has no payment")
        return payments[0]["guid"]
