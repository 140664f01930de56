"""
The registry of method kinds, built from ``METHOD_CLASSES``.

``get_method(instance)`` wraps a ``TwoStepMethod`` row in its kind's class; adding a kind
means adding a module and naming it in the setting.
"""

from __future__ import annotations

from ..settings import twostep_settings


def method_classes() -> dict:
    """Enabled method classes by kind, in the setting's order: those of ``METHOD_CLASSES``
    that are available (a passkey needs its extra and the relying party's settings)."""
    return {cls.kind: cls for cls in twostep_settings.METHOD_CLASSES if cls.is_available()}


def enabled_kinds() -> list[str]:
    return list(method_classes())


def get_method_class(kind):
    """The class for ``kind``, or None when that kind is not enabled."""
    return method_classes().get(kind)


def get_method(instance):
    """Wrap a ``TwoStepMethod`` row in its kind's class (``None`` if the kind is disabled)."""
    cls = get_method_class(instance.kind)
    return cls(instance) if cls else None
