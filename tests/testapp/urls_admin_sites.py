"""A URLconf with a project's own admin sites: one with the two-step login, one without."""

from django.contrib import admin
from django.urls import include, path

from drf_twostep.admin_site import TwoStepAdminSite

own_site = TwoStepAdminSite(name="own")
plain_site = admin.AdminSite(name="plain")

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/auth/", include("drf_twostep.urls")),
    path("own/", own_site.urls),
    path("plain/", plain_site.urls),
]
