"""The paths of docs/API.md. Include with ``path("api/auth/", include("drf_twostep.urls"))``."""

from django.urls import path

from . import views

app_name = "drf_twostep"

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("login/verify/", views.VerifyLoginView.as_view(), name="login-verify"),
    path(
        "login/passkey/options/",
        views.PasskeyOptionsView.as_view(),
        name="login-passkey-options",
    ),
    path("login/passkey/", views.PasskeyLoginView.as_view(), name="login-passkey"),
    path("login/send-code/", views.SendCodeView.as_view(), name="login-send-code"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("two-step/", views.StatusView.as_view(), name="status"),
    path("two-step/reverify/", views.ReverifyView.as_view(), name="reverify"),
    path(
        "two-step/reverify/options/",
        views.ReverifyOptionsView.as_view(),
        name="reverify-options",
    ),
    path("two-step/methods/", views.MethodListView.as_view(), name="method-list"),
    path("two-step/methods/<int:pk>/", views.MethodDetailView.as_view(), name="method-detail"),
    path(
        "two-step/methods/<int:pk>/confirm/",
        views.MethodConfirmView.as_view(),
        name="method-confirm",
    ),
    path("two-step/recovery-codes/", views.RecoveryCodesView.as_view(), name="recovery-codes"),
    path(
        "two-step/recovery-codes/pdf/",
        views.RecoveryCodesPdfView.as_view(),
        name="recovery-codes-pdf",
    ),
    path("two-step/events/", views.EventListView.as_view(), name="events"),
    path("two-step/devices/", views.DeviceListView.as_view(), name="device-list"),
    path("two-step/devices/<int:pk>/", views.DeviceDetailView.as_view(), name="device-detail"),
    path(
        "organizations/<str:org_id>/two-step-policy/",
        views.PolicyView.as_view(),
        name="organization-policy",
    ),
    path(
        "organizations/<str:org_id>/members/",
        views.MemberListView.as_view(),
        name="organization-members",
    ),
    path(
        "organizations/<str:org_id>/members/<str:user_id>/reset-two-step/",
        views.MemberResetView.as_view(),
        name="organization-member-reset",
    ),
]
