from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TwoStepConfig(AppConfig):
    name = "drf_twostep"
    verbose_name = _("2-Step Verification")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import checks, credentials, enforcement, schema  # noqa: F401  (checks, schema)

        # Memberships and policies changed anywhere refresh the members' enforcement state.
        enforcement.watch()
        # A new password revokes the user's other API credentials.
        credentials.connect()
