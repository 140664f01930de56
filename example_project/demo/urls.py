from clinics.views import MeView
from django.contrib import admin
from django.http import JsonResponse
from django.urls import include, path
from django.views.defaults import page_not_found
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from webapp.views import index

urlpatterns = [
    path("", index, name="webapp"),
    path("admin/", admin.site.urls),
    path("api/auth/", include("drf_twostep.urls")),
    path("api/me/", MeView.as_view(), name="me"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
]


def not_found(request, exception):
    """A 404 under /api/ in the API's own shape (``{"detail", "code"}``), not an HTML page:
    also for ids that the URL patterns do not match, such as a negative method id."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=404)
    return page_not_found(request, exception)


handler404 = not_found
