"""
Errors of the HTTP contract.

Each error is a DRF ``APIException``: ``detail`` is a translated string and the stable code
from ``ErrorCode`` is its ``default_code`` (``exc.get_codes()``), as DRF's own errors. Some
carry more fields for the body (``body_extra()``: ``max_age`` of ``ReverificationRequired``);
``wait`` becomes the ``Retry-After`` header, as DRF's ``Throttled`` does.

``exception_handler`` runs the project's ``REST_FRAMEWORK["EXCEPTION_HANDLER"]`` and shapes
its answer into the contract's body, ``{"detail": "...", "code": "...", ...}``; DRF's own
errors get their code too (field validation errors keep DRF's shape and gain
``"code": "invalid"``). The package's views use it; projects can set it as their
``EXCEPTION_HANDLER`` to get the same bodies on their own views.
"""

from __future__ import annotations

import math
from typing import cast

from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status

from .constants import ErrorCode


class TwoStepError(exceptions.APIException):
    """Base class: an error with a stable ``code`` from ``ErrorCode``."""

    status_code: int = status.HTTP_400_BAD_REQUEST
    default_detail = _("The request could not be completed.")
    default_code = ErrorCode.INVALID.value

    @property
    def code(self) -> str:
        return str(cast(exceptions.ErrorDetail, self.detail).code)

    def body_extra(self) -> dict:
        """Fields of the error body beside ``detail`` and ``code``."""
        return {}


class InvalidCredentials(TwoStepError):
    default_detail = _("Unable to sign in with the username and password provided.")
    default_code = ErrorCode.INVALID_CREDENTIALS.value


class PasswordIncorrect(TwoStepError):
    default_detail = _("The password is incorrect.")
    default_code = ErrorCode.PASSWORD_INCORRECT.value


class InvalidCode(TwoStepError):
    default_detail = _(
        "That code is not valid. Wait for your app to show a fresh code and try again. "
        "If codes keep failing, check that your device's clock is set automatically."
    )
    default_code = ErrorCode.INVALID_CODE.value


class CodeAlreadyUsed(TwoStepError):
    default_detail = _("That code has already been used. Wait for your app to show a new one.")
    default_code = ErrorCode.CODE_ALREADY_USED.value


class InvalidRecoveryCode(TwoStepError):
    default_detail = _("That recovery code is not valid or has already been used.")
    default_code = ErrorCode.INVALID_RECOVERY_CODE.value


class InvalidPasskey(TwoStepError):
    """
    A WebAuthn credential that does not verify: malformed, for another challenge, origin or
    RP ID, unknown or another user's, a bad signature, or (at registration) a credential id
    already registered. ``method`` is the ``TwoStepMethod`` the credential names when it is
    one of ours, else None, so that a caller can count the failure on its user.
    """

    default_detail = _("This passkey could not be verified. Try again, or use another method.")
    default_code = ErrorCode.INVALID_PASSKEY.value

    def __init__(self, detail=None, code=None, *, method=None):
        super().__init__(detail, code)
        self.method = method


class PasskeyCloneSuspected(InvalidPasskey):
    """
    A valid signature whose sign count did not increase although the authenticator counts:
    the credential may have been copied. Answered as ``invalid_passkey``; the caller records
    the event ``passkey_clone_suspected`` for ``method``.
    """


class InvalidChallenge(TwoStepError):
    default_detail = _("This sign-in attempt is not valid. Please sign in again.")
    default_code = ErrorCode.INVALID_CHALLENGE.value


class ChallengeExpired(TwoStepError):
    default_detail = _("This sign-in attempt has expired. Please sign in again.")
    default_code = ErrorCode.CHALLENGE_EXPIRED.value


class MethodNotAllowed(TwoStepError):
    default_detail = _("This kind of 2-Step Verification method is not available.")
    default_code = ErrorCode.METHOD_NOT_ALLOWED.value


class MethodDoesNotSend(TwoStepError):
    default_detail = _("This method does not send codes. Open your authenticator app instead.")
    default_code = ErrorCode.METHOD_DOES_NOT_SEND.value


class MethodNotPending(TwoStepError):
    status_code = status.HTTP_409_CONFLICT
    default_detail = _("This method is already active.")
    default_code = ErrorCode.METHOD_NOT_PENDING.value


class MethodRequiredByOrganization(TwoStepError):
    status_code = status.HTTP_409_CONFLICT
    default_detail = _("An organization you belong to requires 2-Step Verification.")
    default_code = ErrorCode.METHOD_REQUIRED_BY_ORGANIZATION.value


class TwoStepNotEnabled(TwoStepError):
    status_code = status.HTTP_409_CONFLICT
    default_detail = _("2-Step Verification is not turned on.")
    default_code = ErrorCode.TWO_STEP_NOT_ENABLED.value


class TwoStepSetupRequired(TwoStepError):
    status_code = status.HTTP_403_FORBIDDEN
    default_detail = _("Set up 2-Step Verification to continue.")
    default_code = ErrorCode.TWO_STEP_SETUP_REQUIRED.value


class TwoStepVerificationRequired(TwoStepError):
    status_code = status.HTTP_403_FORBIDDEN
    default_detail = _("Sign in with 2-Step Verification to continue.")
    default_code = ErrorCode.TWO_STEP_VERIFICATION_REQUIRED.value


class NotFound(TwoStepError):
    status_code = status.HTTP_404_NOT_FOUND
    default_detail = _("Not found.")
    default_code = ErrorCode.NOT_FOUND.value


class TooManyAttempts(TwoStepError):
    """Lockout after wrong codes; ``wait`` (seconds) becomes the ``Retry-After`` header."""

    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_detail = _("Too many wrong codes. Try again later.")
    default_code = ErrorCode.TOO_MANY_ATTEMPTS.value

    def __init__(self, wait, detail=None):
        super().__init__(detail)
        self.wait = max(1, math.ceil(wait))


class DeliveryFailed(TwoStepError):
    """The SMS provider or the mail server did not take the code; nothing was changed."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = _("The code could not be sent. Try again in a moment.")
    default_code = ErrorCode.DELIVERY_FAILED.value


class ReverificationRequired(TwoStepError):
    """The credential's last second step is older than ``max_age`` seconds (a sensitive
    action asks for a fresh one: ``two-step/reverify/``)."""

    status_code = status.HTTP_403_FORBIDDEN
    default_detail = _("Confirm it is you: enter a fresh code to continue.")
    default_code = ErrorCode.REVERIFICATION_REQUIRED.value

    def __init__(self, max_age, detail=None):
        super().__init__(detail)
        self.max_age = int(max_age)

    def body_extra(self) -> dict:
        return {"max_age": self.max_age}


class RequestTooLarge(TwoStepError):
    """A body larger than Django's ``DATA_UPLOAD_MAX_MEMORY_SIZE``."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = _("The request body is too large.")
    default_code = ErrorCode.REQUEST_TOO_LARGE.value


class ServiceUnavailable(TwoStepError):
    """
    The database, or the cache the throttles count in, failed (the request changed nothing):
    ``wait`` seconds become the ``Retry-After`` header.
    """

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = _("The service is unavailable for a moment. Try again shortly.")
    default_code = ErrorCode.SERVICE_UNAVAILABLE.value
    RETRY_AFTER = 5

    def __init__(self, wait=RETRY_AFTER, detail=None):
        super().__init__(detail)
        self.wait = max(1, math.ceil(wait))


# DRF's own errors, given the contract's codes where they differ. A 405 is not the
# contract's method_not_allowed (a method kind that is not allowed), so it gets its own code.
_DRF_CODES = {
    "parse_error": ErrorCode.INVALID.value,
    "throttled": ErrorCode.THROTTLED.value,
    "not_found": ErrorCode.NOT_FOUND.value,
    "method_not_allowed": "http_method_not_allowed",
}


def _project_exception_handler():
    """The project's ``REST_FRAMEWORK["EXCEPTION_HANDLER"]``; DRF's when that is this one."""
    # Imported here: authentication classes import this module while DRF's views load.
    from rest_framework import views
    from rest_framework.settings import api_settings

    handler = api_settings.EXCEPTION_HANDLER
    return views.exception_handler if handler is exception_handler else handler


def error_body(exc: exceptions.APIException) -> dict:
    """The contract's body for ``exc``: ``detail`` and ``code``, plus the fields of field
    validation errors (DRF's shape) or of ``body_extra()``."""
    if isinstance(exc, TwoStepError):
        return {"detail": str(exc.detail), "code": exc.code, **exc.body_extra()}
    if isinstance(exc, exceptions.ValidationError):
        fields = exc.detail
        body: dict[str, object] = (
            {str(name): errors for name, errors in fields.items()}
            if isinstance(fields, dict)
            else {"non_field_errors": fields}
        )
        body.setdefault("detail", str(_("Invalid input.")))
        body["code"] = ErrorCode.INVALID.value
        return body
    codes = exc.get_codes()
    code = codes if isinstance(codes, str) else exc.default_code
    detail = exc.detail if isinstance(exc.detail, str) else exc.default_detail
    return {"detail": str(detail), "code": _DRF_CODES.get(code, code)}


def as_api_exception(exc: Exception) -> Exception:
    """The contract's error for the faults that are not DRF's, else ``exc``: a body over
    Django's limit is 413 ``request_too_large``; a database that cannot be reached or lost the
    connection (``OperationalError``, ``InterfaceError``) is 503 ``service_unavailable``."""
    from django.core.exceptions import RequestDataTooBig
    from django.db import InterfaceError, OperationalError

    from .faults import warn_failed

    if isinstance(exc, RequestDataTooBig):
        return RequestTooLarge()
    if isinstance(exc, (OperationalError, InterfaceError)):
        # The flows write in transactions: what the request began is rolled back.
        warn_failed("the database", exc, "answering 503 service_unavailable")
        return ServiceUnavailable()
    return exc


def exception_handler(exc, context):
    """
    The project's ``REST_FRAMEWORK["EXCEPTION_HANDLER"]`` (DRF's by default), its answer then
    shaped into the contract's body (``error_body``): the project's handler still sees every
    error, and chooses the status and headers (``Retry-After``, ``WWW-Authenticate``).
    """
    exc = as_api_exception(exc)
    response = _project_exception_handler()(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response
    response.data = error_body(exc)
    return response
