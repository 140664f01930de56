"""
The HTTP endpoints of docs/API.md. Each view validates its input, calls ``services`` and
shapes the response; the rules live in ``services`` and ``methods``, what each answers in the
schema lives in ``schema.operations``.
"""

from .base import ActionlessMetadata, AnonymousView, Pagination, TwoStepView, UserView
from .devices import DeviceDetailView, DeviceListView
from .login import (
    LoginView,
    LogoutView,
    PasskeyLoginView,
    PasskeyOptionsView,
    ReverifyOptionsView,
    ReverifyView,
    SendCodeView,
    VerifyLoginView,
)
from .methods import (
    EventListView,
    MethodConfirmView,
    MethodDetailView,
    MethodListView,
    RecoveryCodesPdfView,
    RecoveryCodesView,
    StatusView,
)
from .organizations import MemberListView, MemberResetView, OrganizationView, PolicyView

__all__ = [
    "ActionlessMetadata",
    "AnonymousView",
    "DeviceDetailView",
    "DeviceListView",
    "EventListView",
    "LoginView",
    "LogoutView",
    "MemberListView",
    "MemberResetView",
    "MethodConfirmView",
    "MethodDetailView",
    "MethodListView",
    "OrganizationView",
    "Pagination",
    "PasskeyLoginView",
    "PasskeyOptionsView",
    "PolicyView",
    "RecoveryCodesPdfView",
    "RecoveryCodesView",
    "ReverifyOptionsView",
    "ReverifyView",
    "SendCodeView",
    "StatusView",
    "TwoStepView",
    "UserView",
    "VerifyLoginView",
]
