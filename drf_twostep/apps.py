from django.apps import AppConfig, apps
from django.utils.translation import gettext_lazy as _


class TwoStepConfig(AppConfig):
    name = "drf_twostep"
    verbose_name = _("2-Step Verification")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import checks, credentials, enforcement, schema  # noqa: F401  (checks, schema)
        from .settings import twostep_settings

        # Memberships and policies changed anywhere refresh the members' enforcement state.
        enforcement.watch()
        # A new password revokes the user's other API credentials.
        credentials.connect()
        # The default admin site's login asks for the second step (ADMIN_TWO_STEP).
        if apps.is_installed("django.contrib.admin") and twostep_settings.ADMIN_TWO_STEP:
            from .admin_site import protect_default_site

            protect_default_site()
