"""
The OpenAPI schema (drf-spectacular) generates without warnings, validates, and describes every
endpoint of API.md's sign-in and self-service sections.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from django.core.management import call_command
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.validation import validate_schema

from drf_twostep.constants import ErrorCode
from drf_twostep.serializers import DRF_ERROR_CODES
from tests.test_contract import endpoints, read_api_md, section

PREFIX = "/api/auth/"
CONTRACT_SECTIONS = ("Signing in", "Managing your own 2-Step Verification", "Passkeys")

# Success statuses that API.md gives each endpoint.
SUCCESS = {
    ("post", "login/"): "200",
    ("post", "login/verify/"): "200",
    ("post", "login/send-code/"): "202",
    ("post", "login/passkey/options/"): "200",
    ("post", "login/passkey/"): "200",
    ("post", "logout/"): "204",
    ("get", "two-step/"): "200",
    ("get", "two-step/methods/"): "200",
    ("post", "two-step/methods/"): "201",
    ("post", "two-step/methods/{}/confirm/"): "200",
    ("patch", "two-step/methods/{}/"): "200",
    ("delete", "two-step/methods/{}/"): "204",
    ("post", "two-step/recovery-codes/"): "201",
    ("post", "two-step/recovery-codes/pdf/"): "200",
    ("get", "two-step/events/"): "200",
}


def normalize(path: str) -> str:
    """A path with its parameter names dropped: ``methods/{id}/`` -> ``methods/{}/``."""
    return re.sub(r"\{[^}]*\}", "{}", path)


@pytest.fixture(scope="module")
def schema(tmp_path_factory):
    """The schema as ``manage.py spectacular --validate --fail-on-warn`` writes it."""
    path = tmp_path_factory.mktemp("schema") / "schema.json"
    GENERATOR_STATS.reset()
    call_command(
        "spectacular",
        "--validate",
        "--fail-on-warn",
        "--format",
        "openapi-json",
        "--file",
        str(path),
    )
    return json.loads(path.read_text())


def operations(schema) -> dict[tuple[str, str], dict]:
    """(method, path relative to the package's mount point with names dropped) -> operation."""
    found = {}
    for path, item in schema["paths"].items():
        if path.startswith(PREFIX):
            for method, operation in item.items():
                found[(method, normalize(path[len(PREFIX) :]))] = operation
    return found


def contract_endpoints():
    text = read_api_md()
    found = []
    for title in CONTRACT_SECTIONS:
        found += endpoints(section(text, title))
    assert found, "no endpoint headings found in API.md"
    return [(method.lower(), normalize(path)) for method, path in found]


def test_schema_generates_without_warnings_and_validates(schema):
    # The fixture raised if drf-spectacular warned or the schema broke the OpenAPI spec.
    assert schema["openapi"].startswith("3.")
    assert not GENERATOR_STATS


def test_schema_view_serves_the_same_valid_schema(client, schema, db):
    GENERATOR_STATS.reset()
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    served = json.loads(response.content)
    assert not GENERATOR_STATS, "the schema view emitted warnings or errors"
    validate_schema(served)
    assert served["paths"] == schema["paths"]


def test_schema_has_every_endpoint_of_the_contract(schema):
    documented = operations(schema)
    missing = [endpoint for endpoint in contract_endpoints() if endpoint not in documented]
    assert not missing, f"in API.md but not in the schema: {missing}"


def test_the_contract_lists_every_endpoint_of_the_schema(schema):
    listed = {(method.lower(), normalize(path)) for method, path in endpoints(read_api_md())}
    extra = [endpoint for endpoint in operations(schema) if endpoint not in listed]
    assert not extra, f"in the schema but not in API.md: {extra}"


@pytest.mark.parametrize("endpoint, status", sorted(SUCCESS.items()))
def test_schema_gives_each_endpoint_its_contract_success_status(schema, endpoint, status):
    assert status in operations(schema)[endpoint]["responses"]


def test_schema_error_codes_are_the_packages(schema):
    components = schema["components"]["schemas"]
    for name in ("ErrorResponse", "ValidationErrorResponse"):
        # One named enum of every code, which clients generate as one type (ErrorCode).
        assert components[name]["properties"]["code"] == {"$ref": "#/components/schemas/ErrorCode"}
        assert set(components[name]["required"]) == {"detail", "code"}
    code = components["ErrorCode"]
    assert set(code["enum"]) == {c.value for c in ErrorCode} | set(DRF_ERROR_CODES)
    # The fields' errors beside detail and code as DRF gives them: a field's list of messages,
    # or for a list field its items' messages by index.
    import jsonschema

    validation = {"$ref": "#/components/schemas/ValidationErrorResponse", **schema}
    for body in [
        {"detail": "Invalid input.", "code": "invalid", "name": ["Too long."]},
        {"detail": "Invalid input.", "code": "invalid", "allowed_methods": {"0": ["Blank."]}},
    ]:
        jsonschema.validate(body, validation)


def test_every_error_response_lists_its_codes_with_an_example_of_each(schema):
    for endpoint, operation in operations(schema).items():
        for status, response in operation["responses"].items():
            if not status.startswith(("4", "5")):
                continue
            listed = re.findall(r"`([a-z_]+)`", response.get("description", ""))
            assert listed, (endpoint, status)
            examples = response["content"]["application/json"].get("examples", {})
            codes = {example["value"]["code"] for example in examples.values()}
            assert codes == set(listed), (endpoint, status)
            for example in examples.values():
                assert example["value"]["detail"].strip(), (endpoint, status)


def test_every_authenticated_endpoint_documents_401_and_the_enforcement_403(schema):
    for endpoint, operation in operations(schema).items():
        if "security" not in operation:
            continue
        responses = operation["responses"]
        assert "401" in responses, endpoint
        assert "`two_step_verification_required`" in responses["403"]["description"], endpoint
    # Setup stays reachable for a user who must set up 2SV; the organization API does not.
    ops = operations(schema)
    assert (
        "two_step_setup_required"
        not in ops[("post", "two-step/methods/")]["responses"]["403"]["description"]
    )
    assert (
        "two_step_setup_required"
        in ops[("get", "organizations/{}/members/")]["responses"]["403"]["description"]
    )


def test_login_answers_one_of_two_shapes_told_apart_by_status(schema):
    response = operations(schema)[("post", "login/")]["responses"]["200"]
    ref = response["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    login = schema["components"]["schemas"][ref]
    assert login["discriminator"]["propertyName"] == "status"
    mapping = login["discriminator"]["mapping"]
    assert set(mapping) == {"authenticated", "setup_required", "verification_required"}
    # One component per answer, whose status is that one value.
    assert sorted(login["oneOf"], key=str) == sorted(
        ({"$ref": r} for r in mapping.values()), key=str
    )
    for value, ref in mapping.items():
        variant = schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]
        assert resolve(schema, variant["properties"]["status"])["enum"] == [value]
        assert "status" in variant["required"]


def resolve(schema, prop: dict) -> dict:
    """A property's schema, following a ``$ref`` (also inside ``allOf``) to its component."""
    ref = prop.get("$ref") or next((p["$ref"] for p in prop.get("allOf", ()) if "$ref" in p), None)
    return schema["components"]["schemas"][ref.rsplit("/", 1)[-1]] if ref else prop


def test_method_kind_and_status_are_enums(schema):
    method = schema["components"]["schemas"]["Method"]["properties"]
    kinds = ["authenticator_app", "sms", "email", "passkey"]
    assert resolve(schema, method["kind"])["enum"] == kinds
    assert resolve(schema, method["status"])["enum"] == ["pending", "active"]
    setup = schema["components"]["schemas"]["MethodSetup"]["properties"]
    assert resolve(schema, setup["kind"])["enum"] == kinds


def test_schema_describes_the_pdf_as_application_pdf(schema):
    content = operations(schema)[("post", "two-step/recovery-codes/pdf/")]["responses"]["200"][
        "content"
    ]
    assert content == {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}


def test_schema_marks_sign_in_anonymous_and_self_service_authenticated(schema):
    ops = operations(schema)
    anonymous = ["login/", "login/verify/", "login/send-code/", "login/passkey/options/"]
    for endpoint in [("post", path) for path in [*anonymous, "login/passkey/"]]:
        # No security requirement: a generated client calls them without a credential.
        assert "security" not in ops[endpoint], endpoint
    for endpoint, operation in ops.items():
        if endpoint[1].startswith("two-step/") or endpoint[1] == "logout/":
            schemes = {name for requirement in operation["security"] for name in requirement}
            assert "tokenAuth" in schemes, endpoint


def test_request_bodies_are_json_only(schema):
    """JSON in: no form or multipart bodies that generators would offer beside it."""
    bodies = {
        endpoint: list(operation["requestBody"]["content"])
        for endpoint, operation in operations(schema).items()
        if "requestBody" in operation
    }
    assert bodies and all(types == ["application/json"] for types in bodies.values()), bodies
    # DELETE two-step/methods/{id}/ takes the password in its body.
    delete = operations(schema)[("delete", "two-step/methods/{}/")]["requestBody"]
    assert delete["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Password"
    }


def test_every_error_response_is_a_named_error_component(schema):
    named = {"#/components/schemas/ErrorResponse", "#/components/schemas/ValidationErrorResponse"}
    for endpoint, operation in operations(schema).items():
        for status, response in operation["responses"].items():
            if status.startswith(("4", "5")):
                ref = response["content"]["application/json"]["schema"]["$ref"]
                assert ref in named, (endpoint, status, ref)
                # Where a field can be invalid, the fields' errors can be in the body too.
                invalid = "`invalid`" in response["description"]
                assert ref.endswith("ValidationErrorResponse") == invalid, (endpoint, status)


def test_tags_and_operation_ids_make_module_and_function_names(schema):
    """Generators name modules after tags and functions after operationIds: words that
    start with a letter, one operationId per operation."""
    ids = [op["operationId"] for item in schema["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", operation_id) for operation_id in ids), ids
    tags = {tag for item in schema["paths"].values() for op in item.values() for tag in op["tags"]}
    assert all(re.fullmatch(r"[A-Za-z][A-Za-z -]*", tag) for tag in tags), tags
    assert {tag for op in operations(schema).values() for tag in op["tags"]} == {
        "Two-Step Verification",
        "Organizations",
    }


def json_schema(schema, node):
    """``node`` (an OpenAPI 3.0 schema object) as JSON Schema: ``nullable`` as a null type,
    ``$ref`` resolved, so that jsonschema can check examples against it."""
    if isinstance(node, list):
        return [json_schema(schema, item) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return json_schema(schema, schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]])
    converted = {
        key: json_schema(schema, value)
        for key, value in node.items()
        if key not in ("nullable", "discriminator", "readOnly", "writeOnly", "example")
    }
    if "properties" in node:
        converted["properties"] = {
            name: json_schema(schema, value) for name, value in node["properties"].items()
        }
    if node.get("nullable"):
        converted = {"anyOf": [converted, {"type": "null"}]}
    return converted


def test_every_example_is_valid_against_its_schema(schema):
    import jsonschema

    checked = 0
    for endpoint, operation in operations(schema).items():
        bodies = [("request", operation.get("requestBody", {}))] + list(
            operation["responses"].items()
        )
        for where, body in bodies:
            for media, content in body.get("content", {}).items():
                for name, example in content.get("examples", {}).items():
                    target = json_schema(schema, content["schema"])
                    try:
                        jsonschema.validate(example["value"], target)
                    except jsonschema.ValidationError as error:
                        pytest.fail(f"{endpoint} {where} {media} example {name!r}: {error.message}")
                    checked += 1
    assert checked > 50


def test_nullable_fields_are_marked(schema):
    """Fields that are null in real answers say so (generated clients reject a null otherwise)."""
    components = schema["components"]["schemas"]
    for component, field in [
        ("Status", "grace_period_ends_at"),
        ("Status", "default_method"),
        ("RecoveryCodeCount", "created_at"),
        ("Method", "last_used_at"),
        ("VerificationRequired", "default_method"),
        ("ConfirmResponse", "token"),
        ("Authenticated", "token"),
        ("Policy", "required_since"),
        ("Member", "last_verified_at"),
        ("SecurityEvent", "method"),
        ("SecurityEvent", "ip"),
    ]:
        assert components[component]["properties"][field].get("nullable") is True, (
            component,
            field,
        )


SNAPSHOT = Path(__file__).parent / "snapshots" / "openapi.json"


def _versions() -> dict[str, str]:
    from importlib.metadata import version

    return {name: version(name) for name in ("Django", "djangorestframework", "drf-spectacular")}


def test_schema_matches_its_snapshot(schema):
    """The schema is part of the package's interface: a change to it must be deliberate.
    After a deliberate change: ``DRF_TWOSTEP_UPDATE_SNAPSHOT=1 make test PYTEST_ARGS="-k
    snapshot"`` and commit tests/snapshots/openapi.json with the change."""
    if os.environ.get("DRF_TWOSTEP_UPDATE_SNAPSHOT"):
        SNAPSHOT.write_text(
            json.dumps({"versions": _versions(), "schema": schema}, indent=1, sort_keys=True) + "\n"
        )
    recorded = json.loads(SNAPSHOT.read_text())
    if recorded["versions"] != _versions():
        pytest.skip(f"snapshot taken with {recorded['versions']}, running {_versions()}")
    changed = sorted(
        path
        for path in set(recorded["schema"]["paths"]) | set(schema["paths"])
        if recorded["schema"]["paths"].get(path) != schema["paths"].get(path)
    )
    components = recorded["schema"]["components"]["schemas"]
    changed += sorted(
        f"component {name}"
        for name in set(components) | set(schema["components"]["schemas"])
        if components.get(name) != schema["components"]["schemas"].get(name)
    )
    assert recorded["schema"] == schema, (
        f"the schema changed ({', '.join(changed) or 'elsewhere'}); if deliberate, "
        "rerun with DRF_TWOSTEP_UPDATE_SNAPSHOT=1 and commit tests/snapshots/openapi.json"
    )


def test_path_parameters_admit_only_what_their_urls_match(schema, api, user):
    """``{id}`` is ``<int:pk>``: digits, never negative; organization ids are strings."""
    from rest_framework.authtoken.models import Token

    seen = set()
    for path, operations in schema["paths"].items():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] != "path":
                    continue
                seen.add(parameter["name"])
                expected = (
                    {"type": "integer", "minimum": 0}
                    if parameter["name"] == "id"
                    else {"type": "string"}
                )
                assert parameter["schema"] == expected, (path, parameter)
    assert seen == {"id", "org_id", "user_id"}
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    assert api.patch("/api/auth/two-step/methods/-1/", {}, format="json").status_code == 404
