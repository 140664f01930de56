"""The base views of the package's endpoints: error bodies, metadata, input and pagination."""

from __future__ import annotations

from rest_framework import generics, permissions
from rest_framework.metadata import SimpleMetadata
from rest_framework.pagination import PageNumberPagination

from ..exceptions import exception_handler


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


class TwoStepView(generics.GenericAPIView):
    """Base view: the package's error bodies (``detail`` and ``code``) on every error."""

    # Views that a user who must set up 2SV may still reach (see authentication.py).
    twostep_setup_allowed = True
    metadata_class = ActionlessMetadata

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
