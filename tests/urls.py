from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from tests.testapp.views import MeView, PasswordView, SensitiveView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/auth/", include("drf_twostep.urls")),
    path("api/me/", MeView.as_view()),
    path("api/password/", PasswordView.as_view()),
    path("api/sensitive/", SensitiveView.as_view()),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
]
