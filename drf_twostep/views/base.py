"""The base views of the package's endpoints: error bodies, metadata, input and pagination."""

from __future__ import annotations

import json

from django.db import connections
from django.utils.translation import gettext_lazy as _
from rest_framework import generics, permissions
from rest_framework.exceptions import ValidationError
from rest_framework.metadata import SimpleMetadata
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from ..adapter import parse_pk
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


class KeysetPagination(Pagination):
    """
    ``Pagination`` for lists that may hold a great many rows (an organization's members),
    with keyset pages besides page numbers: ``after`` (the id of the last row of the page
    before) and ``before`` (the id of the first row of the page after) cost the same wherever
    they fall, and the ``next`` and ``previous`` links of a page asked for without a number
    use them; ``page=last`` is the last ``page_size`` rows. A numbered page counts and skips
    the rows before it, as in the other lists. ``count`` is exact for a list of up to
    ``EXACT_COUNT_UP_TO`` rows (before the view's filters: ``view.count_basis``) and beyond
    that the database's estimate on PostgreSQL (an exact count elsewhere).
    """

    after_query_param = "after"
    before_query_param = "before"
    EXACT_COUNT_UP_TO = 1000

    def paginate_queryset(self, queryset, request, view=None):
        number = request.query_params.get(self.page_query_param)
        if number is not None and number not in self.last_page_strings:
            self.keyset = False
            return super().paginate_queryset(queryset, request, view)
        self.keyset, self.request = True, request
        size = self.get_page_size(request)
        after = self._key(request, self.after_query_param, queryset.model)
        before = self._key(request, self.before_query_param, queryset.model)
        if after is not None and before is not None:
            raise ValidationError({self.before_query_param: [_("Give after or before, not both.")]})
        backwards = before is not None or number is not None
        self.count = self._count(queryset, getattr(view, "count_basis", queryset))
        rows = queryset.order_by("-pk" if backwards else "pk")
        if after is not None:
            rows = rows.filter(pk__gt=after)
        if before is not None:
            rows = rows.filter(pk__lt=before)
        rows = list(rows[: size + 1])
        more = len(rows) > size
        rows = rows[:size]
        if backwards:
            rows.reverse()
        # Read forwards, there is a next page when more rows came, a previous one when the page
        # started after a key; read backwards, the other way round.
        has_next = before is not None if backwards else more
        has_previous = more if backwards else after is not None
        self.next_key = rows[-1].pk if rows and has_next else None
        self.previous_key = rows[0].pk if rows and has_previous else None
        return rows

    def get_paginated_response(self, data):
        if not self.keyset:
            return super().get_paginated_response(data)
        return Response(
            {
                "count": self.count,
                "next": self._link(self.after_query_param, self.next_key),
                "previous": self._link(self.before_query_param, self.previous_key),
                "results": data,
            }
        )

    def get_schema_operation_parameters(self, view):
        keys = [
            (self.after_query_param, "The id of the last row of the page before."),
            (self.before_query_param, "The id of the first row of the page after."),
        ]
        return super().get_schema_operation_parameters(view) + [
            {
                "name": name,
                "required": False,
                "in": "query",
                "description": description,
                "schema": {"type": "string"},
            }
            for name, description in keys
        ]

    def _key(self, request, name, model):
        raw = request.query_params.get(name)
        if raw is None:
            return None
        key = parse_pk(model, raw)
        if key is None:
            raise ValidationError({name: [_("Not the id of a row of this list.")]})
        return key

    def _count(self, queryset, basis) -> int:
        capped = basis.order_by()[: self.EXACT_COUNT_UP_TO + 1].count()
        if capped <= self.EXACT_COUNT_UP_TO:
            return capped if basis is queryset else queryset.count()
        if connections[queryset.db].vendor != "postgresql":
            return queryset.count()
        plan = json.loads(queryset.order_by().explain(format="json"))
        return round(plan[0]["Plan"]["Plan Rows"])

    def _link(self, name, key):
        if key is None:
            return None
        url = self.request.build_absolute_uri()
        for param in (self.page_query_param, self.after_query_param, self.before_query_param):
            url = remove_query_param(url, param)
        return replace_query_param(url, name, key)


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
