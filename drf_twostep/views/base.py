"""The base views of the package's endpoints: error bodies, metadata, input and pagination."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import generics, permissions
from rest_framework.exceptions import ValidationError
from rest_framework.metadata import SimpleMetadata
from rest_framework.pagination import PageNumberPagination

from ..exceptions import exception_handler
from ..parsers import JSONObjectParser


class ActionlessMetadata(SimpleMetadata):
    """OPTIONS: the view's name, description and formats, without DRF's form of its fields
    (the package's views build no model serializer for that; the schema describes them)."""

    def determine_actions(self, request, view):
        return {}


class Pagination(PageNumberPagination):
    """The one pagination of the package's lists: 50 a page, ``page_size`` up to 200."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_size(self, request):
        value = request.query_params.get(self.page_size_query_param)
        if value is None:
            return self.page_size
        return min(positive_int(self.page_size_query_param, value), self.max_page_size)

    def get_page_number(self, request, paginator):
        value = request.query_params.get(self.page_query_param)
        if value is None or value in self.last_page_strings:
            return super().get_page_number(request, paginator)
        return positive_int(self.page_query_param, value)


def positive_int(name: str, value: str) -> int:
    """A query parameter the schema types as a positive integer; 400 ``invalid`` if not."""
    if value.isascii() and value.isdigit() and 0 < int(value):
        return int(value)
    raise ValidationError({name: [_("A positive whole number is required.")]})


def boolean(name: str, value: str | None) -> bool | None:
    """A query parameter the schema types as a boolean (``true`` or ``false``)."""
    if value is None:
        return None
    if value in ("true", "false"):
        return value == "true"
    raise ValidationError({name: [_("Must be true or false.")]})


class TwoStepView(generics.GenericAPIView):
    """Base view: the package's error bodies (``detail`` and ``code``) on every error."""

    # Views that a user who must set up 2SV may still reach (see authentication.py).
    twostep_setup_allowed = True
    metadata_class = ActionlessMetadata
    # "JSON in" (docs/API.md): one JSON object per body, any other media type is 415.
    parser_classes = [JSONObjectParser]

    def get_exception_handler(self):
        return exception_handler

    def validated(self, serializer_class=None):
        serializer = (serializer_class or self.get_serializer_class())(
            data=self.request.data, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


class AnonymousView(TwoStepView):
    authentication_classes = []
    permission_classes = [permissions.AllowAny]


class UserView(TwoStepView):
    permission_classes = [permissions.IsAuthenticated]
