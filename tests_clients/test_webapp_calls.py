"""
The demo web app (example_project/webapp/static/webapp/app.js) uses the contract, not guesses:
every ``api(method, path, body)`` call in it names a path and method of the example project's
schema, sends a body only where the operation takes one, with keys the body's schema has, and
every key that schema requires.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml
from conftest import EXAMPLE

APP_JS = EXAMPLE / "webapp" / "static" / "webapp" / "app.js"
CLOSERS = {"(": ")", "{": "}", "[": "]"}


def _skip_string(text: str, i: int) -> int:
    """The index past the string literal that starts at ``text[i]`` (a template literal's
    ``${...}`` parts included)."""
    quote = text[i]
    i += 1
    while text[i] != quote:
        if text[i] == "\\":
            i += 1
        elif quote == "`" and text.startswith("${", i):
            i = _balanced(text, i + 1)
            continue
        i += 1
    return i + 1


def _balanced(text: str, i: int) -> int:
    """The index past the bracket group that opens at ``text[i]``."""
    stack = [CLOSERS[text[i]]]
    i += 1
    while stack:
        char = text[i]
        if char in "\"'`":
            i = _skip_string(text, i)
            continue
        if char in CLOSERS:
            stack.append(CLOSERS[char])
        elif char == stack[-1]:
            stack.pop()
        i += 1
    return i


def _split_top_level(text: str, separator: str = ",") -> list[str]:
    parts, start, i = [], 0, 0
    while i < len(text):
        char = text[i]
        if char in "\"'`":
            i = _skip_string(text, i)
            continue
        if char in CLOSERS:
            i = _balanced(text, i)
            continue
        if text.startswith(separator, i):
            parts.append(text[start:i].strip())
            i += len(separator)
            start = i
            continue
        i += 1
    parts.append(text[start:].strip())
    return [part for part in parts if part]


def _object_keys(literal: str) -> set[str]:
    """The keys of a JavaScript object literal ``{ a: 1, b, "c": 2 }``."""
    keys = set()
    for entry in _split_top_level(literal.strip()[1:-1]):
        name = re.match(r"""["']?([A-Za-z_$][\w$]*)["']?\s*(:|$)""", entry)
        assert name, f"cannot read the object key of {entry!r}"
        keys.add(name.group(1))
    return keys


@dataclass
class Call:
    line: int
    method: str
    path: str
    # None: no body. Otherwise the keys the body may have, and those it always has.
    keys: set[str] | None = None
    always: set[str] = field(default_factory=set)


def _path(expression: str, constants: dict[str, str], source: str) -> str:
    """The path a path expression builds, its parameters as ``{}`` and its query dropped:
    ``url || `${base}members/${...}` `` is the second alternative (``url`` is a ``next``
    link the server gave)."""
    expression = _split_top_level(expression, "||")[-1]
    if expression in constants:
        return constants[expression]
    assert expression.startswith("`"), f"cannot read the path {expression!r}"
    body, out, i = expression[1:-1], "", 0
    while i < len(body):
        if body.startswith("${", i):
            end = _balanced(body, i + 1)
            inner = body[i + 2 : end - 1].strip()
            if inner in constants:
                out += constants[inner]
            elif local := re.search(rf"const {re.escape(inner)} = (`[^`]*`);", source):
                out += _path(local.group(1), constants, source)
            elif re.search(r"""["']\?""", inner):
                pass  # a query string: not part of the path
            else:
                out += "{}"
            i = end
        else:
            out += body[i]
            i += 1
    return out.split("?", 1)[0]


def _body(expression: str, before: str) -> tuple[set[str], set[str]]:
    """(keys it may have, keys it always has) of a body expression: an object literal, or a
    variable built in the function before the call (``const body = {...}``, ``body.x = ``,
    ``body[f.name] = `` with the form fields' names)."""
    if expression.startswith("{"):
        keys = _object_keys(expression)
        return keys, keys
    assert re.fullmatch(r"[A-Za-z_$][\w$]*", expression), f"cannot read the body {expression!r}"
    function = before[before.rfind("\nfunction ") :]
    start = re.search(rf"const {expression} = (\{{)", function)
    assert start, f"no `const {expression} = {{...}}` before the call"
    literal = function[start.start(1) : _balanced(function, start.start(1))]
    always = _object_keys(literal)
    keys = set(always) | set(re.findall(rf"\b{expression}\.(\w+) =", function))
    if re.search(rf"\b{expression}\[\w+\.name\] =", function):
        keys |= set(re.findall(r"""\bname: ["'](\w+)["']""", function))
    return keys, always


def webapp_calls(source: str) -> list[Call]:
    constants = dict(re.findall(r"""^const ([A-Z_]+) = ["']([^"']*)["'];""", source, re.M))
    calls = []
    # The api() function itself (it calls itself again after a re-verification) is no call.
    definition = source.find("function api(")
    own = (
        (definition, _balanced(source, source.index("{", source.index(")", definition))))
        if definition >= 0
        else (0, 0)
    )
    for found in re.finditer(r"(?<![\w.$])api\(", source):
        if own[0] <= found.start() < own[1]:
            continue
        end = _balanced(source, found.end() - 1)
        args = _split_top_level(source[found.end() : end - 1])
        method = re.fullmatch(r"""["']([A-Z]+)["']""", args[0])
        assert method, f"cannot read the method {args[0]!r}"
        call = Call(
            line=source.count("\n", 0, found.start()) + 1,
            method=method.group(1).lower(),
            path=_path(args[1], constants, source),
        )
        if len(args) > 2 and args[2] != "undefined":
            call.keys, call.always = _body(args[2], source[: found.start()])
        calls.append(call)
    return calls


def _resolve(schema: dict, node: dict) -> dict:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def mismatches(calls: list[Call], schema: dict) -> list[str]:
    """What each call gets wrong against ``schema``."""
    operations = {
        (re.sub(r"\{[^}]*\}", "{}", path), method): operation
        for path, item in schema["paths"].items()
        for method, operation in item.items()
    }
    wrong = []
    for call in calls:
        where = f"app.js:{call.line} {call.method.upper()} {call.path}"
        operation = operations.get((call.path, call.method))
        if operation is None:
            wrong.append(f"{where}: not in the schema")
            continue
        request = operation.get("requestBody")
        if call.keys is None:
            if request and request.get("required"):
                wrong.append(f"{where}: sends no body, the operation requires one")
            continue
        if request is None:
            wrong.append(f"{where}: sends a body, the operation takes none")
            continue
        body = _resolve(schema, request["content"]["application/json"]["schema"])
        unknown = call.keys - set(body.get("properties", {}))
        if unknown:
            wrong.append(f"{where}: keys not in the schema: {sorted(unknown)}")
        missing = set(body.get("required", [])) - call.always
        if missing:
            wrong.append(f"{where}: required keys not always sent: {sorted(missing)}")
    return wrong


@pytest.fixture(scope="module")
def openapi(schema: Path) -> dict:
    return yaml.safe_load(schema.read_text())


def test_every_call_of_the_web_app_is_in_the_schema_with_its_body(openapi):
    calls = webapp_calls(APP_JS.read_text())
    assert len(calls) >= 15, calls
    # The calls read from the file are the app's (a parser that read nothing would pass).
    assert {(c.method, c.path) for c in calls} >= {
        ("post", "/api/auth/login/"),
        ("post", "/api/auth/login/verify/"),
        ("post", "/api/auth/two-step/methods/{}/confirm/"),
        ("delete", "/api/auth/two-step/methods/{}/"),
        ("get", "/api/auth/organizations/{}/members/"),
        ("get", "/api/me/"),
    }
    assert mismatches(calls, openapi) == []


def test_what_the_check_catches(openapi):
    """A wrong path, a wrong method, an unknown key, a missing required key, a missing body:
    each is reported."""
    source = """
const AUTH = "/api/auth/";
function screen() {
  const password = field("Password", { name: "password" });
  api("POST", `${AUTH}logn/`, { username: u });
  api("PUT", `${AUTH}login/`, { username: u, password: p });
  api("POST", `${AUTH}login/`, { username: u, password: p, remember: true });
  const body = { challenge: c };
  if (x) body.code = y;
  api("POST", `${AUTH}login/verify/`, body);
  api("POST", `${AUTH}login/`);
  api("DELETE", `${AUTH}two-step/methods/${m.id}/`, { password: password.input.value });
}
"""
    calls = webapp_calls(source)
    assert [(c.method, c.path) for c in calls][-1] == ("delete", "/api/auth/two-step/methods/{}/")
    reported = mismatches(calls, openapi)
    assert [line.split(":", 2)[1].split()[0] for line in reported] == ["5", "6", "7", "11"]
    assert "not in the schema" in reported[0] and "not in the schema" in reported[1]
    assert "['remember']" in reported[2]
    assert "requires one" in reported[3]
