"""
A completed sign-in's events, and new-device notifications.

Every completed sign-in (the password alone, the second step, a passkey alone, a trusted
device) stores its client's key (``drf_twostep.clients``: the user agent's family and the
IP's network) on its events. A sign-in from a client the user has not signed in from in
``NEW_DEVICE_DAYS`` days also records ``new_device_sign_in``, which emails the user; the
first sign-in of a user (no sign-in with a client key before it) records nothing more.

Whether the client is known is two ``EXISTS`` over the index (user, client key, time) that
ride on a query each flow makes anyway (``known_fields``), so that it costs no statement. The
password's step stores the answer on the login challenge, with the client's key; the second
step from the same client reads it there (``new_at_second_step``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext

from ..adapter import get_adapter
from ..clients import client_key, ip_network
from ..constants import NEW_DEVICE_DAYS, EventKind
from ..models import SecurityEvent
from ._common import record_events


@dataclass(frozen=True)
class Client:
    """The client of a sign-in: its family, network and their key."""

    browser: str
    system: str
    network: str
    key: str

    @property
    def family(self) -> str:
        """The family as people read it: "Firefox on Linux"."""
        if self.browser and self.system:
            return gettext("%(browser)s on %(system)s") % {
                "browser": self.browser,
                "system": self.system,
            }
        return self.browser or self.system or gettext("an unknown browser or app")


def client_of(request) -> Client:
    adapter = get_adapter()
    browser, system = adapter.get_client_family(request)
    network = ip_network(adapter.get_client_ip(request))
    return Client(browser, system, network, client_key(browser, system, network))


def known_fields(client: Client, now, user=None) -> dict:
    """Annotations for a query whose rows have the user (``user``, default the row's
    ``user`` column): ``sign_in_known``, whether the user signed in from ``client`` in the
    last ``NEW_DEVICE_DAYS`` days, and ``sign_in_seen``, whether they ever signed in (with a
    client key)."""
    user = OuterRef("user") if user is None else user
    events = SecurityEvent.objects.filter(user=user).order_by()
    since = now - timedelta(days=NEW_DEVICE_DAYS)
    return {
        "sign_in_known": Exists(events.filter(client_key=client.key, created_at__gte=since)),
        "sign_in_seen": Exists(events.filter(client_key__gt="")),
    }


def is_new(known) -> bool:
    """Whether the sign-in whose ``known_fields`` are on ``known`` is from a new client."""
    return bool(known.sign_in_seen and not known.sign_in_known)


def new_at_second_step(login_challenge, client: Client, now) -> bool:
    """Whether the second step of ``login_challenge``, from ``client``, comes from a client new
    to the user: as the password's step found it when that came from the same client, else
    looked up now (one statement: a challenge the Django admin started, or a client that
    changed between the steps)."""
    same_client = constant_time_compare(login_challenge.client_key, client.key)
    if login_challenge.client_new is not None and same_client:
        return login_challenge.client_new
    users = get_user_model()._default_manager.filter(pk=login_challenge.user_id)
    return is_new(users.annotate(**known_fields(client, now, OuterRef("pk"))).get())


def record_sign_in(user, kinds, request, method=None, *, client: Client, new: bool):
    """Record the events ``kinds`` of a completed sign-in in one INSERT, each with the
    client's key, and ``new_device_sign_in`` with them when the client is ``new``."""
    kinds = list(kinds)
    if new:
        kinds.append(EventKind.NEW_DEVICE_SIGN_IN)
    return record_events(
        user,
        kinds,
        request,
        method,
        client_key=client.key,
        device=client.family,
        network=client.network or "-",
        days=NEW_DEVICE_DAYS,
    )
