"""
Hostile input (docs/API.md, Conventions): on every endpoint of the package that reads a body,
anonymous ones first, a body nested 5,000 deep, larger than Django's limit, not one JSON object,
or of another media type is a 4xx JSON answer with ``detail`` and ``code``, never a 500; query
parameters are checked as the schema types them.
"""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from drf_twostep.models import OrganizationPolicy
from tests.helpers import AUTH, assert_error, enable_totp
from tests.test_organizations import make_user

DEEP = "[" * 5000
DEEP_OBJECT = '{"a":' * 5000
HUGE = json.dumps({"username": "a" * 10_000_000, "password": "b"})

# (method, path) of every endpoint that reads a body; {method}, {org} filled in per test.
ANONYMOUS = [("post", "login/"), ("post", "login/verify/"), ("post", "login/send-code/")]
AUTHENTICATED = [
    ("post", "two-step/methods/"),
    ("patch", "two-step/methods/{method}/"),
    ("delete", "two-step/methods/{method}/"),
    ("post", "two-step/methods/{method}/confirm/"),
    ("post", "two-step/recovery-codes/"),
    ("post", "two-step/recovery-codes/pdf/"),
    ("put", "organizations/{org}/two-step-policy/"),
    ("patch", "organizations/{org}/two-step-policy/"),
]
# Endpoints that read no body: any body is ignored.
BODYLESS = [("post", "logout/"), ("post", "organizations/{org}/members/{member}/reset-two-step/")]

CASES = {
    "nested arrays": (DEEP, "application/json", 400, "invalid"),
    "nested objects": (DEEP_OBJECT, "application/json", 400, "invalid"),
    "10 MB": (HUGE, "application/json", 413, "request_too_large"),
    "an array": ("[1, 2]", "application/json", 400, "invalid"),
    "a string": ('"x"', "application/json", 400, "invalid"),
    "null": ("null", "application/json", 400, "invalid"),
    "not JSON": ("{'a': 1}", "application/json", 400, "invalid"),
    "NaN": ('{"code": NaN}', "application/json", 400, "invalid"),
    "not UTF-8": (b'{"code": "\xff\xfe"}', "application/json", 400, "invalid"),
    "a form": (
        "username=a&password=b",
        "application/x-www-form-urlencoded",
        415,
        "unsupported_media_type",
    ),
    "multipart": (
        '--x\r\nContent-Disposition: form-data; name="required"\r\n\r\ntrue\r\n--x--\r\n',
        "multipart/form-data; boundary=x",
        415,
        "unsupported_media_type",
    ),
    "text": ("hello", "text/plain", 415, "unsupported_media_type"),
}


@pytest.fixture
def world(db, api, clock):
    """An organization admin with 2SV on (an authenticator app), and a member."""
    clinic = Group.objects.create(name="Demo Clinic")
    admin = enable_totp(api, make_user("dora", clinic, is_staff=True), clock)
    member = make_user("erin", clinic)
    OrganizationPolicy.objects.create(organization=clinic, required=False)
    return {
        "client": admin.client(),
        "fill": {"method": admin.method_id, "org": clinic.pk, "member": member.pk},
    }


def send(client, method, path, body, content_type):
    return getattr(client, method)(AUTH + path, data=body, content_type=content_type)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("endpoint", ANONYMOUS, ids=lambda e: " ".join(e))
def test_anonymous_endpoints_answer_hostile_bodies_with_a_code(db, endpoint, case):
    body, content_type, status, code = CASES[case]
    assert_error(send(Client(), *endpoint, body, content_type), status, code)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("endpoint", AUTHENTICATED, ids=lambda e: " ".join(e))
def test_authenticated_endpoints_answer_hostile_bodies_with_a_code(world, endpoint, case):
    method, path = endpoint
    body, content_type, status, code = CASES[case]
    response = send(world["client"], method, path.format(**world["fill"]), body, content_type)
    assert_error(response, status, code)


@pytest.mark.parametrize("case", ["nested arrays", "10 MB", "text"])
@pytest.mark.parametrize("endpoint", BODYLESS, ids=lambda e: " ".join(e))
def test_endpoints_without_a_body_ignore_a_hostile_one(world, endpoint, case):
    method, path = endpoint
    body, content_type, _, _ = CASES[case]
    response = send(world["client"], method, path.format(**world["fill"]), body, content_type)
    assert response.status_code == 204, response.content


def test_the_size_limit_is_djangos(db, settings):
    body = json.dumps({"username": "a", "password": "b" * 1000})
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = len(body) - 1
    assert_error(
        send(Client(), "post", "login/", body, "application/json"), 413, "request_too_large"
    )
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = len(body)
    assert_error(
        send(Client(), "post", "login/", body, "application/json"), 400, "invalid_credentials"
    )


def test_a_json_body_with_a_charset_is_json(db):
    response = send(
        Client(),
        "post",
        "login/",
        '{"username": "a", "password": "b"}',
        "application/json; charset=utf-8",
    )
    assert_error(response, 400, "invalid_credentials")


@pytest.mark.parametrize(
    "query",
    [
        "page_size=abc",
        "page_size=0",
        "page_size=-1",
        "page_size=1.5",
        "page=abc",
        "page=0",
        "page_size=%EF%BC%91",
    ],
)
def test_events_refuse_query_parameters_of_the_wrong_type(world, query):
    body = assert_error(world["client"].get(f"{AUTH}two-step/events/?{query}"), 400, "invalid")
    assert query.split("=")[0] in body


@pytest.mark.parametrize("query", ["page_size=abc", "page=x", "compliant=maybe", "compliant=1"])
def test_members_refuse_query_parameters_of_the_wrong_type(world, query):
    url = f"{AUTH}organizations/{world['fill']['org']}/members/?{query}"
    body = assert_error(world["client"].get(url), 400, "invalid")
    assert query.split("=")[0] in body


def test_query_parameters_of_the_right_type_still_work(world):
    client, org = world["client"], world["fill"]["org"]
    page = client.get(f"{AUTH}two-step/events/?page_size=1&page=2").json()
    assert len(page["results"]) == 1 and page["previous"]
    assert client.get(f"{AUTH}two-step/events/?page_size=100000&page=last").status_code == 200
    members = client.get(f"{AUTH}organizations/{org}/members/?compliant=false&page_size=1")
    assert members.status_code == 200
    assert members.json()["count"] == 1  # erin; dora has 2SV on
    assert client.get(f"{AUTH}two-step/events/?page=99").status_code == 404


def test_the_token_client_still_posts_json(world):
    # DRF's test client (format="json"), as the rest of the suite uses it.
    response = world["client"].post(
        AUTH + "two-step/recovery-codes/", {"password": "wrong"}, format="json"
    )
    assert_error(response, 400, "password_incorrect")
