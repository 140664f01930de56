"""Values that shape the database and the wire. They are not settings."""

from __future__ import annotations

from enum import Enum


class ErrorCode(str, Enum):
    """Every machine-readable error code of the HTTP contract (docs/API.md)."""

    INVALID = "invalid"
    INVALID_CREDENTIALS = "invalid_credentials"
    PASSWORD_INCORRECT = "password_incorrect"
    INVALID_CODE = "invalid_code"
    CODE_ALREADY_USED = "code_already_used"
    INVALID_RECOVERY_CODE = "invalid_recovery_code"
    INVALID_CHALLENGE = "invalid_challenge"
    CHALLENGE_EXPIRED = "challenge_expired"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    METHOD_DOES_NOT_SEND = "method_does_not_send"
    METHOD_NOT_PENDING = "method_not_pending"
    METHOD_REQUIRED_BY_ORGANIZATION = "method_required_by_organization"
    TWO_STEP_NOT_ENABLED = "two_step_not_enabled"
    TWO_STEP_SETUP_REQUIRED = "two_step_setup_required"
    TWO_STEP_VERIFICATION_REQUIRED = "two_step_verification_required"
    NOT_FOUND = "not_found"
    TOO_MANY_ATTEMPTS = "too_many_attempts"
    THROTTLED = "throttled"
    DELIVERY_FAILED = "delivery_failed"
    REVERIFICATION_REQUIRED = "reverification_required"
    INVALID_PASSKEY = "invalid_passkey"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    REQUEST_TOO_LARGE = "request_too_large"
    SERVICE_UNAVAILABLE = "service_unavailable"


class EventKind(str, Enum):
    """Kinds of security events recorded for a user."""

    TWO_STEP_ENABLED = "two_step_enabled"
    TWO_STEP_DISABLED = "two_step_disabled"
    METHOD_ADDED = "method_added"
    METHOD_REMOVED = "method_removed"
    VERIFICATION_SUCCEEDED = "verification_succeeded"
    VERIFICATION_FAILED = "verification_failed"
    CODE_REPLAYED = "code_replayed"
    RECOVERY_CODE_USED = "recovery_code_used"
    RECOVERY_CODES_REGENERATED = "recovery_codes_regenerated"
    RESET_BY_ADMIN = "reset_by_admin"
    MEMBER_RESET = "member_reset"
    POLICY_CHANGED = "policy_changed"
    LOCKED_OUT = "locked_out"
    CODE_SENT = "code_sent"
    DELIVERY_FAILED = "delivery_failed"
    REVERIFIED = "reverified"
    PASSKEY_CLONE_SUSPECTED = "passkey_clone_suspected"
    TRUSTED_DEVICE_USED = "trusted_device_used"
    SIGNED_IN = "signed_in"
    NEW_DEVICE_SIGN_IN = "new_device_sign_in"


class MethodKind(str, Enum):
    AUTHENTICATOR_APP = "authenticator_app"
    SMS = "sms"
    EMAIL = "email"
    PASSKEY = "passkey"


class MethodStatus(str, Enum):
    PENDING = "pending"
    ACTIVE = "active"


class LoginStatus(str, Enum):
    AUTHENTICATED = "authenticated"
    VERIFICATION_REQUIRED = "verification_required"
    SETUP_REQUIRED = "setup_required"


# Recovery codes: 15 random bytes = 120 bits = 24 base32 characters, shown in groups of four.
RECOVERY_CODE_BYTES = 15
RECOVERY_CODE_LENGTH = 24
RECOVERY_CODE_GROUP = 4

# Login challenges: 32 random bytes (256 bits), sent as urlsafe base64, stored as a SHA-256 digest.
CHALLENGE_BYTES = 32
# Trusted devices: 32 random bytes (256 bits) in the device token.
DEVICE_TOKEN_BYTES = 32
DIGEST_LENGTH = 64

# New-device notifications: a sign-in's client is new when the user has not signed in from it
# in this many days.
NEW_DEVICE_DAYS = 90

# Session key that marks a Django session as having passed the second step.
SESSION_VERIFIED_KEY = "_drf_twostep_verified"
# Session key of when the session last passed a second step (epoch seconds).
SESSION_VERIFIED_AT_KEY = "_drf_twostep_verified_at"

METHOD_NAME_MAX_LENGTH = 64

# Passkeys (WebAuthn): 32 random bytes for each ceremony's challenge, stored as a SHA-256
# digest; 64 random bytes for a user's handle (the spec's recommendation), stored as base64url;
# credential ids of up to 1023 bytes (the spec's limit), found by the SHA-256 of their bytes.
WEBAUTHN_CHALLENGE_BYTES = 32
WEBAUTHN_USER_HANDLE_BYTES = 64
WEBAUTHN_USER_HANDLE_LENGTH = 86
WEBAUTHN_CREDENTIAL_ID_MAX_BYTES = 1023

# RFC 8176 authentication method references of a passkey in a JWT's ``amr`` claim: a key
# bound to its device's hardware, or a synced (software-secured) one; after a passkey alone
# with user verification, also multiple factors (the key and the PIN or biometric).
AMR_HARDWARE_KEY = "hwk"
AMR_SOFTWARE_KEY = "swk"
AMR_MULTIPLE_FACTORS = "mfa"
