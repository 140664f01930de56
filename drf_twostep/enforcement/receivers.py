"""
Memberships and policies changed with the ORM, wherever it happens (the admin, the project's
code, fixtures), refresh the rows of the users they concern.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.signals import setting_changed
from django.db.models import (
    Model,
)
from django.db.models.query import QuerySet
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete, pre_save

from ..adapter import get_adapter
from ..models import OrganizationPolicy
from ..settings import SETTINGS_NAME
from .rows import refresh_members, refresh_users


def _user_pk(instance, membership) -> object:
    return getattr(instance, membership.user_attname(), None)


def _membership_of(sender):
    for membership in get_adapter().get_memberships():
        if membership.get_model() is sender:
            return membership
    return None


def _membership_saving(sender, instance, raw=False, **kwargs):
    """Remember the user a membership belonged to before this save (it may move)."""
    membership = _membership_of(sender)
    if membership is None or raw or instance.pk is None:
        return
    instance._twostep_previous_user = (
        sender._default_manager.filter(pk=instance.pk)
        .values_list(membership.user_attname(), flat=True)
        .first()
    )


def _membership_saved(sender, instance, raw=False, **kwargs):
    membership = _membership_of(sender)
    if membership is None or raw:
        return
    pks = {_user_pk(instance, membership), instance.__dict__.pop("_twostep_previous_user", None)}
    refresh_users(pk for pk in pks if pk is not None)


def _membership_deleted(sender, instance, origin=None, **kwargs):
    membership = _membership_of(sender)
    if membership is None or _user_pk(instance, membership) is None or _deleting_users(origin):
        return
    refresh_users([_user_pk(instance, membership)])


def _deleting_users(origin) -> bool:
    """Whether the delete that cascaded here deletes users (whose rows need no refresh)."""
    model = origin.model if isinstance(origin, QuerySet) else type(origin)
    return issubclass(model, get_user_model())


def _memberships_changed(sender, instance, action, reverse, model, pk_set, **kwargs):
    """``add()``, ``remove()`` and ``clear()`` on a many-to-many relation through a
    membership model (``user.groups``, ``group.user_set``)."""
    membership = _membership_of(sender)
    if membership is None:
        return
    if isinstance(instance, get_user_model()):
        if action in ("post_add", "post_remove", "post_clear"):
            refresh_users([instance.pk])
    elif action == "pre_clear":
        # Which users leave the organization is known only before the clear.
        instance._twostep_cleared = list(
            membership.members_of(instance).values_list(membership.user, flat=True)
        )
    elif action == "post_clear":
        refresh_users(instance.__dict__.pop("_twostep_cleared", []))
    elif action in ("post_add", "post_remove"):
        refresh_users(pk_set or ())


def _policy_deleting(sender, instance, **kwargs):
    instance._twostep_members = list(
        get_adapter().get_organization_members(instance.organization).values_list("pk", flat=True)
    )


def _policy_deleted(sender, instance, **kwargs):
    refresh_users(instance.__dict__.pop("_twostep_members", []))


def _policy_saved(sender, instance, raw=False, **kwargs):
    if not raw:
        refresh_members(instance.organization)


_RECEIVERS = (
    (pre_save, _membership_saving),
    (post_save, _membership_saved),
    (post_delete, _membership_deleted),
    (m2m_changed, _memberships_changed),
)
# The membership models the receivers are connected to.
_watched: list[type[Model]] = []


def watch() -> None:
    """Connect the receivers to the policy model and to the adapter's membership models (at
    start-up, and again when ``DRF_TWOSTEP`` changes)."""
    while _watched:
        model = _watched.pop()
        for signal, receiver in _RECEIVERS:
            signal.disconnect(receiver, sender=model)
    try:
        memberships = get_adapter().get_memberships()
    except Exception:  # noqa: BLE001 - a broken adapter is reported by the system checks
        memberships = []
    for membership in memberships:
        model = membership.get_model()
        for signal, receiver in _RECEIVERS:
            # Django sends no save or delete signals for the table of a many-to-many field
            # (user.groups): only m2m_changed.
            if signal is m2m_changed or not model._meta.auto_created:
                signal.connect(receiver, sender=model)
        _watched.append(model)
    post_save.connect(_policy_saved, sender=OrganizationPolicy)
    pre_delete.connect(_policy_deleting, sender=OrganizationPolicy)
    post_delete.connect(_policy_deleted, sender=OrganizationPolicy)


def _settings_changed(*, setting, **kwargs):
    if setting == SETTINGS_NAME:
        watch()


setting_changed.connect(_settings_changed)
