"""
How the package's endpoints describe their errors in the OpenAPI schema: every error response
lists its codes and carries an example of each, and every authenticated endpoint documents the
401 and the enforcement 403s that the authentication classes can give (``authenticated``).
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiResponse
from rest_framework import exceptions as drf_exceptions

from .. import exceptions
from .. import serializers as s
from ..constants import ErrorCode


def _details() -> dict[str, str]:
    """The default ``detail`` of each error code, from the exception that raises it."""
    found = {
        ErrorCode.INVALID.value: str(drf_exceptions.ValidationError.default_detail),
        ErrorCode.THROTTLED.value: "Request was throttled. Expected available in 42 seconds.",
        "not_authenticated": str(drf_exceptions.NotAuthenticated.default_detail),
    }
    stack = [exceptions.TwoStepError]
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if cls is not exceptions.TwoStepError:
            found.setdefault(cls.default_code, str(cls.default_detail))
    return found


class ErrorResponse(OpenApiResponse):
    """An error response with ``codes``: ``{"detail", "code"}`` and one example per code."""

    def __init__(self, *codes, serializer=s.ErrorSerializer, description=None):
        self.codes = tuple(getattr(code, "value", code) for code in codes)
        details = _details()
        super().__init__(
            serializer,
            description=description or ", ".join(f"`{code}`" for code in self.codes),
            examples=[
                OpenApiExample(
                    code,
                    value={"detail": details.get(code, code), "code": code},
                    response_only=True,
                )
                for code in self.codes
            ],
        )


def error(*codes, description=None) -> ErrorResponse:
    return ErrorResponse(*codes, description=description)


VALIDATION = ErrorResponse(
    ErrorCode.INVALID,
    serializer=s.ValidationErrorSerializer,
    description="`invalid`: the fields' errors as DRF gives them, beside detail and code.",
)
UNAUTHENTICATED = ErrorResponse("not_authenticated")
THROTTLED = ErrorResponse(ErrorCode.THROTTLED)


def authenticated(responses: dict, *, setup_allowed=True) -> dict:
    """``responses`` plus what the package's authentication classes can answer on any
    authenticated endpoint: 401, and 403 with the enforcement codes (``two_step_setup_required``
    only where setup is not allowed), merged with a 403 of the endpoint's own."""
    codes = [ErrorCode.TWO_STEP_VERIFICATION_REQUIRED.value]
    if not setup_allowed:
        codes.append(ErrorCode.TWO_STEP_SETUP_REQUIRED.value)
    own = getattr(responses.get(403), "codes", ())
    return {
        401: UNAUTHENTICATED,
        **responses,
        403: ErrorResponse(*own, *(code for code in codes if code not in own)),
    }
