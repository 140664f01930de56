"""The in-process benchmarks' URLs: the package, two trivial views and DRF's password login."""

from django.urls import include, path
from rest_framework.authtoken.views import obtain_auth_token

from .views import enforced_token_view, plain_token_view

urlpatterns = [
    path("api/auth/", include("drf_twostep.urls")),
    path("bench/plain/", plain_token_view),
    path("bench/enforced/", enforced_token_view),
    # DRF's password-only login, the baseline of the login figures. Never route it in a real
    # project that uses drf-twostep: it hands out a token for the password alone (E009).
    path("bench/obtain-auth-token/", obtain_auth_token),
]
