"""
The package's OpenAPI schema: the authentication classes' security schemes (``extensions``,
registered when the app is ready), the error responses every endpoint lists (``responses``),
the examples (``examples``) and one ``extend_schema`` per operation (``operations``).

A project's own views use ``authenticated`` to list the answers of the package's
authentication classes beside their own.
"""

from . import extensions  # noqa: F401  (registers the security schemes)
from .responses import THROTTLED, VALIDATION, ErrorResponse, authenticated, error

__all__ = ["THROTTLED", "VALIDATION", "ErrorResponse", "authenticated", "error"]
