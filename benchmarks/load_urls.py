"""The example project's URLs plus the two trivial views of the load test (benchmarks only)."""

from demo.urls import handler404  # noqa: F401
from demo.urls import urlpatterns as demo_urlpatterns
from django.urls import path

from .views import enforced_token_view, plain_token_view

urlpatterns = [
    *demo_urlpatterns,
    # Baseline of the load test: plain DRF TokenAuthentication, no 2SV check.
    path("bench/plain/", plain_token_view),
    path("bench/enforced/", enforced_token_view),
]
