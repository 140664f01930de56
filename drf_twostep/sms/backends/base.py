"""The interface of an SMS backend."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .. import TextMessage


class BaseSmsBackend:
    """
    Subclasses implement ``send``. It either hands the message to the provider or raises
    ``drf_twostep.exceptions.DeliveryFailed``; it must not raise anything else for a provider
    or network failure.
    """

    def send(self, message: TextMessage) -> None:
        raise NotImplementedError
