"""The interface every method kind implements."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from ..models import TwoStepMethod


class BaseMethod:
    """
    One kind of 2-Step Verification method, wrapped around a ``TwoStepMethod`` row.

    Subclasses set ``kind`` and ``verbose_name`` and implement ``begin_setup`` and ``verify``;
    methods that deliver codes set ``sends_code`` and implement ``send_code``. A kind that
    needs an optional package or settings says whether it has them in ``is_available``.
    """

    kind: ClassVar[str]
    verbose_name: ClassVar[str]
    sends_code: ClassVar[bool] = False

    def __init__(self, instance: TwoStepMethod):
        self.instance = instance

    @classmethod
    def is_available(cls) -> bool:
        """Whether the kind can be offered now; an unavailable kind counts as not enabled."""
        return True

    @classmethod
    def begin_setup(cls, instance: TwoStepMethod, data: dict) -> dict:
        """
        Fill a new, unsaved pending ``instance`` from the validated request ``data``.

        Returns the extra fields of the setup response (for example the setup key); they are
        shown this once and never again.
        """
        raise NotImplementedError

    def after_setup(self) -> dict:
        """
        More fields of the setup response, made once the new pending method is saved, in the
        same transaction (a passkey's creation options, whose challenge is bound to the row).
        """
        return {}

    def verify(self, code: str, challenge=None) -> None:
        """
        Accept ``code`` once, or raise ``InvalidCode`` / ``CodeAlreadyUsed``.

        ``challenge`` is the ``LoginChallenge`` being completed, or None during setup (for
        methods whose codes are bound to one). Called inside a transaction with the method row
        locked; on success the method's replay state is already updated in the database.
        """
        raise NotImplementedError

    def send_code(self, challenge=None) -> int:
        """Deliver a fresh code for ``challenge`` (None: the pending setup) and return its
        lifetime in seconds. Raises ``DeliveryFailed`` when it cannot be delivered."""
        from ..exceptions import MethodDoesNotSend

        raise MethodDoesNotSend()
