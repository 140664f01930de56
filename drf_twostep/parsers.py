"""
The package's views read JSON objects only (docs/API.md: "JSON in"). Another media type is
DRF's 415 ``unsupported_media_type``; a body that is not one JSON object, or nests too deep
for the decoder, is 400 ``invalid``; a body larger than ``DATA_UPLOAD_MAX_MEMORY_SIZE`` is
413 ``request_too_large`` (Django's own limit, read before the body is).
"""

from __future__ import annotations

import json

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from .exceptions import RequestTooLarge


class JSONObjectParser(JSONParser):
    """DRF's ``JSONParser`` (strict: no ``NaN``), for one JSON object of bounded size."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raw = stream.read() if limit is None else stream.read(limit + 1)
        if limit is not None and len(raw) > limit:
            raise RequestTooLarge()
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            data = json.loads(raw.decode(encoding), parse_constant=_refuse_constant)
        except RecursionError:
            raise ParseError(_("The JSON body nests too deep.")) from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise ParseError(_("The body is not valid JSON.")) from exc
        if not isinstance(data, dict):
            raise ParseError(_("The body must be a JSON object."))
        return data


def _refuse_constant(name):
    raise ValueError(f"{name} is not valid JSON")
