"""Examples of requests and successful answers in the schema, one list per operation."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample

_METHOD = {
    "id": 7,
    "kind": "authenticator_app",
    "name": "Authenticator app",
    "status": "active",
    "is_default": True,
    "created_at": "2026-11-28T10:00:00Z",
    "last_used_at": "2026-11-28T10:05:00Z",
}
_STATUS = {
    "enabled": True,
    "required": True,
    "required_by": [{"id": "3", "name": "Demo Clinic"}],
    "grace_period_ends_at": None,
    "default_method": 7,
    "methods": [_METHOD],
    "recovery_codes": {"remaining": 1, "total": 1, "created_at": "2026-11-28T10:00:00Z"},
    "server_time": "2026-11-28T10:06:00Z",
}
_TOKEN = "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"
_RECOVERY_CODE = "ABCD-EFGH-IJKL-MNOP-QRST-UVWX"


def _request(name, value):
    return OpenApiExample(name, value=value, request_only=True)


def _response(name, value, status=200):
    return OpenApiExample(name, value=value, response_only=True, status_codes=[status])


LOGIN_EXAMPLES = [
    _request("Password", {"username": "alice", "password": "correct horse battery staple"}),
    _response(
        "2SV on: a challenge",
        {
            "status": "verification_required",
            "challenge": "q3J1vGmWbT0r2yF5o8XcZbNwKkL9sP4uQe7aH1dR6jA",
            "expires_in": 300,
            "methods": [_METHOD],
            "default_method": 7,
        },
    ),
    _response(
        "2SV off: a credential",
        {"status": "authenticated", "token": _TOKEN, "two_step": {**_STATUS, "enabled": False}},
    ),
    _response(
        "2SV required but not set up",
        {
            "status": "setup_required",
            "token": _TOKEN,
            "two_step": {**_STATUS, "enabled": False, "default_method": None, "methods": []},
        },
    ),
]
VERIFY_EXAMPLES = [
    _request(
        "A code", {"challenge": "q3J1vGmWbT0r2yF5o8XcZbNwKkL9sP4uQe7aH1dR6jA", "code": "123456"}
    ),
    _request(
        "A recovery code",
        {
            "challenge": "q3J1vGmWbT0r2yF5o8XcZbNwKkL9sP4uQe7aH1dR6jA",
            "recovery_code": _RECOVERY_CODE,
        },
    ),
    _response("Signed in", {"status": "authenticated", "token": _TOKEN, "two_step": _STATUS}),
]
SETUP_EXAMPLES = [
    _request("Authenticator app", {"kind": "authenticator_app", "password": "…"}),
    _request("SMS", {"kind": "sms", "password": "…", "phone_number": "+14155552671"}),
    _request("Email", {"kind": "email", "password": "…"}),
    _response(
        "Authenticator app",
        {
            **_METHOD,
            "id": 9,
            "status": "pending",
            "is_default": False,
            "last_used_at": None,
            "setup_key": "JBSW Y3DP EHPK 3PXP JBSW Y3DP EHPK 3PXP",
            "otpauth_uri": "otpauth://totp/Demo%20Clinic:alice%40example.com?secret="
            "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Demo%20Clinic&algorithm=SHA1&digits=6"
            "&period=30",
            "qr_code": "data:image/svg+xml;base64,PHN2Zy...",
        },
        201,
    ),
    _response(
        "SMS (a code is on its way)",
        {
            **_METHOD,
            "id": 10,
            "kind": "sms",
            "name": "SMS to number ending 2671",
            "status": "pending",
            "is_default": False,
            "last_used_at": None,
            "expires_in": 600,
        },
        201,
    ),
]
CONFIRM_EXAMPLES = [
    _request("A code", {"code": "123456"}),
    _response(
        "2SV turned on",
        {"method": _METHOD, "recovery_codes": [_RECOVERY_CODE], "token": _TOKEN},
    ),
]
STATUS_EXAMPLES = [_response("2SV on", _STATUS)]
