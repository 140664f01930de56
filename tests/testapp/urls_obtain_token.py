"""A URLconf that also routes DRF's password-only token view (for the E009 system check)."""

from django.urls import include, path
from rest_framework.authtoken.views import obtain_auth_token

urlpatterns = [
    path("api/auth/", include("drf_twostep.urls")),
    path("api/", include([path("token/", obtain_auth_token)])),
]
