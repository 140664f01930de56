"""
Authorization (STANDARDS #37, #41, #44, #57; API.md): for every endpoint of
``drf_twostep.urls``, another user of the same organization, an admin of another organization
and an anonymous client can neither read nor change anything of the victim's. The probes are
keyed by URL name, so an endpoint added without one fails
``test_every_endpoint_and_http_method_has_a_probe``.
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core import mail
from django.urls import URLPattern, reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from drf_twostep import sms
from drf_twostep import urls as twostep_urls
from drf_twostep.models import (
    DeliveredCode,
    LoginChallenge,
    OrganizationPolicy,
    RecoveryCode,
    SecurityEvent,
    TrustedDevice,
    TwoStepMethod,
    TwoStepProfile,
)
from tests.helpers import PASSWORD, enable_totp, login, start_setup

VICTIM_PASSWORD = "the victim's own password, not the attackers'"
PHONE = "+14155552671"
ME = "/api/me/"
HTTP_METHODS = ("get", "post", "put", "patch", "delete")


def url(name, **kwargs):
    return reverse(f"drf_twostep:{name}", kwargs={k: str(v) for k, v in kwargs.items()})


@dataclass
class Actor:
    name: str
    client: APIClient
    user: object = None

    @property
    def anonymous(self) -> bool:
        return self.user is None

    def challenge(self, api) -> str:
        """A sign-in challenge of the actor's own (a forged one for the anonymous client)."""
        if self.anonymous:
            return "forged-" + "x" * 36
        return login(api, self.user.get_username()).json()["challenge"]


@dataclass
class World:
    api: APIClient
    victim: object
    victim_client: APIClient
    clinic: Group
    other_clinic: Group
    app_id: int
    sms_id: int
    pending_id: int
    recovery_codes: list
    device_id: int = 0
    actors: list = field(default_factory=list)

    def markers(self) -> list[str]:
        """Text of the victim's that must never show up in an answer to someone else."""
        token = Token.objects.get(user=self.victim).key
        return [
            "alice-private-app",
            "alice-private-phone",
            "alice-private-device",
            PHONE,
            "alice@example.com",
            token,
            *self.recovery_codes,
        ]


def make_user(username, *groups, is_staff=False):
    user = get_user_model().objects.create_user(
        username, f"{username}@example.com", PASSWORD, is_staff=is_staff
    )
    user.groups.add(*groups)
    return user


@pytest.fixture
def world(db, api, clock):
    clinic = Group.objects.create(name="Clinic A")
    other_clinic = Group.objects.create(name="Clinic B")
    OrganizationPolicy.objects.create(organization=clinic, required=True)
    victim = enable_totp(api, make_user("alice", clinic), clock)
    client = victim.client()
    client.patch(url("method-detail", pk=victim.method_id), {"name": "alice-private-app"})
    phone = start_setup(client, kind="sms", phone_number=PHONE, name="alice-private-phone")
    code = sms.outbox[-1].body.split()[0]
    confirmed = client.post(url("method-confirm", pk=phone.json()["id"]), {"code": code})
    assert confirmed.status_code == 200, confirmed.content
    pending = start_setup(client, name="alice-private-app")
    # Set in the table directly: a new password set through save() would revoke the token.
    type(victim.user).objects.filter(pk=victim.user.pk).update(
        password=make_password(VICTIM_PASSWORD)
    )
    world = World(
        api=api,
        victim=victim.user,
        victim_client=client,
        clinic=clinic,
        other_clinic=other_clinic,
        app_id=victim.method_id,
        sms_id=phone.json()["id"],
        pending_id=pending.json()["id"],
        recovery_codes=victim.recovery_codes,
        device_id=TrustedDevice.objects.create(
            user=victim.user,
            digest="d" * 64,
            password_digest="p" * 64,
            name="alice-private-device",
            expires_at=timezone.now() + timedelta(days=30),
        ).pk,
    )
    member = enable_totp(api, make_user("bob", clinic), clock)
    other_admin = enable_totp(api, make_user("carol", other_clinic, is_staff=True), clock)
    world.actors = [
        Actor("a member of the same organization", member.client(), member.user),
        Actor("an admin of another organization", other_admin.client(), other_admin.user),
        Actor("an anonymous client", APIClient()),
    ]
    sms.outbox.clear()
    mail.outbox.clear()
    return world


def snapshot(world) -> dict:
    """Everything of the victim's that anyone could read or change."""
    victim = world.victim
    return {
        "methods": list(TwoStepMethod.objects.filter(user=victim).order_by("pk").values()),
        "recovery codes": sorted(
            RecoveryCode.objects.filter(user=victim).values_list("digest", flat=True)
        ),
        "profile": TwoStepProfile.objects.filter(user=victim).values().first(),
        "tokens": sorted(Token.objects.filter(user=victim).values_list("key", flat=True)),
        "events": SecurityEvent.objects.filter(user=victim).count(),
        "challenges": LoginChallenge.objects.filter(user=victim).count(),
        "devices": list(TrustedDevice.objects.filter(user=victim).values()),
        "sent codes": DeliveredCode.objects.filter(method__user=victim).count(),
        "policy": list(OrganizationPolicy.objects.filter(organization=world.clinic).values()),
        "user": get_user_model().objects.filter(pk=victim.pk).values().first(),
        "texts": [m for m in sms.outbox if m.to == PHONE],
        "emails": [m.subject for m in mail.outbox if victim.email in m.to],
    }


# -- the probes: one per URL name, each trying every HTTP method the endpoint has -------------


def _expect(actor, response, status, code=None, *, anonymous=401):
    """``status`` (and ``code``) for a signed-in actor, ``anonymous`` for the anonymous one."""
    wanted = anonymous if actor.anonymous else status
    assert response.status_code == wanted, (actor.name, response.status_code, response.content)
    if code is not None and not actor.anonymous:
        assert response.json()["code"] == code, (actor.name, response.content)


def _own_method_ids(actor) -> set:
    return set(TwoStepMethod.objects.filter(user=actor.user).values_list("pk", flat=True))


def probe_login(world, actor):
    response = world.api.post(
        url("login"), {"username": "alice", "password": PASSWORD}, format="json"
    )
    _expect(actor, response, 400, "invalid_credentials", anonymous=400)
    return [response]


def probe_login_verify(world, actor):
    challenge = actor.challenge(world.api)
    with_method = world.api.post(
        url("login-verify"),
        {"challenge": challenge, "code": "123456", "method": world.app_id},
        format="json",
    )
    _expect(actor, with_method, 404, "not_found", anonymous=400)
    challenge = actor.challenge(world.api)
    with_code = world.api.post(
        url("login-verify"),
        {"challenge": challenge, "recovery_code": world.recovery_codes[0]},
        format="json",
    )
    _expect(actor, with_code, 400, "invalid_recovery_code", anonymous=400)
    if actor.anonymous:
        assert with_method.json()["code"] == with_code.json()["code"] == "invalid_challenge"
    return [with_method, with_code]


def probe_login_send_code(world, actor):
    response = world.api.post(
        url("login-send-code"),
        {"challenge": actor.challenge(world.api), "method": world.sms_id},
        format="json",
    )
    _expect(actor, response, 404, "not_found", anonymous=400)
    return [response]


def _passkeys_on():
    """The passkey kind enabled (the test settings leave the relying party unset)."""
    from django.conf import settings
    from django.test import override_settings

    relying_party = {"WEBAUTHN_RP_ID": "example.com", "WEBAUTHN_ORIGINS": ["https://example.com"]}
    return override_settings(DRF_TWOSTEP={**settings.DRF_TWOSTEP, **relying_party})


# Without the passkeys extra the kind is unavailable: both endpoints say so to everyone.
HAS_WEBAUTHN = importlib.util.find_spec("webauthn") is not None


def probe_login_passkey_options(world, actor):
    with _passkeys_on():
        response = world.api.post(url("login-passkey-options"), format="json")
    if HAS_WEBAUTHN:
        _expect(actor, response, 200, anonymous=200)
    else:
        _expect(actor, response, 400, "method_not_allowed", anonymous=400)
    return [response]


def probe_login_passkey(world, actor):
    """An assertion that names the victim's user handle, by a key that is not theirs."""
    if not HAS_WEBAUTHN:
        with _passkeys_on():
            body = {"challenge": "x", "credential": {"type": "public-key"}}
            response = world.api.post(url("login-passkey"), body, format="json")
        _expect(actor, response, 400, "method_not_allowed", anonymous=400)
        return [response]
    from drf_twostep.models import PasskeyUserHandle
    from tests.authenticator import SoftAuthenticator, unb64url

    handle = PasskeyUserHandle.objects.get_or_create(
        user=world.victim, defaults={"handle": "A" * 86}
    )
    with _passkeys_on():
        options = world.api.post(url("login-passkey-options"), format="json").json()
        credential = SoftAuthenticator().get(
            options["public_key"], user_handle=unb64url(handle[0].handle)
        )
        response = world.api.post(
            url("login-passkey"),
            {"challenge": options["challenge"], "credential": credential},
            format="json",
        )
    _expect(actor, response, 400, "invalid_passkey", anonymous=400)
    return [response]


def probe_logout(world, actor):
    response = actor.client.post(url("logout"))
    _expect(actor, response, 204)
    return [response]


def probe_status(world, actor):
    response = actor.client.get(url("status"))
    _expect(actor, response, 200)
    if not actor.anonymous:
        listed = {method["id"] for method in response.json()["methods"]}
        assert listed and listed <= _own_method_ids(actor)
    return [response]


def probe_reverify(world, actor):
    # The victim's method and recovery code re-verify nobody else's credential, and the
    # failures count on the actor, not on the victim.
    with_method = actor.client.post(
        url("reverify"), {"code": "123456", "method": world.app_id}, format="json"
    )
    _expect(actor, with_method, 404, "not_found")
    with_code = actor.client.post(
        url("reverify"), {"recovery_code": world.recovery_codes[0]}, format="json"
    )
    _expect(actor, with_code, 400, "invalid_recovery_code")
    return [with_method, with_code]


def probe_reverify_options(world, actor):
    # Only the caller's own passkeys are offered: the actors have none (and the victim's
    # methods are not theirs), with or without the passkeys extra.
    with _passkeys_on():
        response = actor.client.post(url("reverify-options"), format="json")
    _expect(actor, response, 400, "method_not_allowed")
    return [response]


def probe_method_list(world, actor):
    listed = actor.client.get(url("method-list"))
    _expect(actor, listed, 200)
    created = actor.client.post(
        url("method-list"),
        {"kind": "authenticator_app", "password": PASSWORD, "user": world.victim.pk},
        format="json",
    )
    _expect(actor, created, 201)
    if not actor.anonymous:
        assert {m["id"] for m in listed.json()} <= _own_method_ids(actor)
        assert TwoStepMethod.objects.get(pk=created.json()["id"]).user == actor.user
    return [listed, created]


def probe_method_detail(world, actor):
    responses = []
    for pk in (world.app_id, world.sms_id, world.pending_id):
        renamed = actor.client.patch(
            url("method-detail", pk=pk), {"name": "taken", "is_default": True}, format="json"
        )
        _expect(actor, renamed, 404, "not_found")
        deleted = actor.client.delete(
            url("method-detail", pk=pk), {"password": PASSWORD}, format="json"
        )
        _expect(actor, deleted, 404, "not_found")
        responses += [renamed, deleted]
    return responses


def probe_method_confirm(world, actor):
    response = actor.client.post(
        url("method-confirm", pk=world.pending_id), {"code": "123456"}, format="json"
    )
    _expect(actor, response, 404, "not_found")
    return [response]


def probe_recovery_codes(world, actor):
    response = actor.client.post(url("recovery-codes"), {"password": PASSWORD}, format="json")
    _expect(actor, response, 201)
    return [response]


def probe_recovery_codes_pdf(world, actor):
    response = actor.client.post(
        url("recovery-codes-pdf"), {"recovery_codes": world.recovery_codes}, format="json"
    )
    _expect(actor, response, 400, "invalid_recovery_code")
    return [response]


def probe_events(world, actor):
    response = actor.client.get(url("events"))
    _expect(actor, response, 200)
    if not actor.anonymous:
        mentioned = {event["method"] for event in response.json()["results"]} - {None}
        assert mentioned <= _own_method_ids(actor)
        assert response.json()["count"] == SecurityEvent.objects.filter(user=actor.user).count()
    return [response]


def probe_device_list(world, actor):
    listed = actor.client.get(url("device-list"))
    _expect(actor, listed, 200)
    if not actor.anonymous:
        assert world.device_id not in {device["id"] for device in listed.json()}
    forgotten = actor.client.delete(url("device-list"))
    _expect(actor, forgotten, 204)
    return [listed, forgotten]


def probe_device_detail(world, actor):
    response = actor.client.delete(url("device-detail", pk=world.device_id))
    _expect(actor, response, 404, "not_found")
    return [response]


def probe_organization_policy(world, actor):
    target = url("organization-policy", org_id=world.clinic.pk)
    body = {"required": False, "grace_period_days": 30, "allowed_methods": ["email"]}
    responses = [
        actor.client.get(target),
        actor.client.put(target, body, format="json"),
        actor.client.patch(target, {"required": False}, format="json"),
    ]
    for response in responses:
        _expect(actor, response, 404, "not_found")
    return responses


def probe_organization_members(world, actor):
    response = actor.client.get(url("organization-members", org_id=world.clinic.pk))
    _expect(actor, response, 404, "not_found")
    return [response]


def probe_organization_member_reset(world, actor):
    responses = [
        actor.client.post(url("organization-member-reset", org_id=org.pk, user_id=world.victim.pk))
        for org in (world.clinic, world.other_clinic)
    ]
    for response in responses:
        _expect(actor, response, 404, "not_found")
    return responses


# URL name: (the HTTP methods the probe tries, the probe).
PROBES = {
    "login": ({"post"}, probe_login),
    "login-verify": ({"post"}, probe_login_verify),
    "login-send-code": ({"post"}, probe_login_send_code),
    "login-passkey-options": ({"post"}, probe_login_passkey_options),
    "login-passkey": ({"post"}, probe_login_passkey),
    "logout": ({"post"}, probe_logout),
    "status": ({"get"}, probe_status),
    "reverify": ({"post"}, probe_reverify),
    "reverify-options": ({"post"}, probe_reverify_options),
    "method-list": ({"get", "post"}, probe_method_list),
    "method-detail": ({"patch", "delete"}, probe_method_detail),
    "method-confirm": ({"post"}, probe_method_confirm),
    "recovery-codes": ({"post"}, probe_recovery_codes),
    "recovery-codes-pdf": ({"post"}, probe_recovery_codes_pdf),
    "events": ({"get"}, probe_events),
    "device-list": ({"get", "delete"}, probe_device_list),
    "device-detail": ({"delete"}, probe_device_detail),
    "organization-policy": ({"get", "put", "patch"}, probe_organization_policy),
    "organization-members": ({"get"}, probe_organization_members),
    "organization-member-reset": ({"post"}, probe_organization_member_reset),
}


def _endpoints():
    for pattern in twostep_urls.urlpatterns:
        assert isinstance(pattern, URLPattern), pattern
        view = pattern.callback.view_class
        yield pattern.name, {m for m in HTTP_METHODS if callable(getattr(view, m, None))}


def test_every_endpoint_and_http_method_has_a_probe():
    endpoints = dict(_endpoints())
    assert set(endpoints) == set(PROBES), "add a probe for each new endpoint to this module"
    for name, methods in endpoints.items():
        assert methods == PROBES[name][0], f"{name}: probe {sorted(methods)}"


@pytest.mark.parametrize("name", sorted(PROBES))
def test_nobody_else_reads_or_changes_anything_of_the_victims(world, name):
    before = snapshot(world)
    markers = world.markers()
    for actor in world.actors:
        responses = PROBES[name][1](world, actor)
        assert responses
        after = snapshot(world)
        assert after == before, f"{actor.name} changed the victim's {_changed(before, after)}"
        for response in responses:
            text = response.content.decode(errors="replace")
            for marker in markers:
                assert marker not in text, f"{actor.name} saw {marker!r} in {name}"
    # And the victim's own credential and methods still work.
    assert world.victim_client.get(ME).status_code == 200
    listed = world.victim_client.get(url("method-list")).json()
    assert {m["id"] for m in listed} == {world.app_id, world.sms_id, world.pending_id}


def _changed(before, after) -> list:
    return [key for key in before if before[key] != after[key]]


def test_the_probes_see_a_real_leak(world):
    """The snapshot and the markers catch a change and a leak (the probes are not blind)."""
    before = snapshot(world)
    TwoStepMethod.objects.filter(pk=world.app_id).update(name="renamed")
    assert _changed(before, snapshot(world)) == ["methods"]
    body = json.dumps(world.victim_client.get(url("method-list")).json())
    assert "alice-private-phone" in body
