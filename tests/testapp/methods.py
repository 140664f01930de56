"""A second method kind for tests of per-organization allowed kinds."""

from drf_twostep.crypto import constant_time_equals
from drf_twostep.exceptions import InvalidCode
from drf_twostep.methods.base import BaseMethod

STATIC_CODE = "424242"


class StaticCodeMethod(BaseMethod):
    """Accepts one fixed code. Only ever enabled in tests."""

    kind = "static_code"
    verbose_name = "Static code"

    @classmethod
    def begin_setup(cls, instance, data):
        return {}

    def verify(self, code, challenge=None):
        if not constant_time_equals(code, STATIC_CODE):
            raise InvalidCode()
