from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from drf_twostep import services


class Command(BaseCommand):
    help = (
        "Reset a user's 2-Step Verification (lost device): remove their methods and recovery "
        "codes, revoke their credentials and notify them."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        User = get_user_model()
        try:
            user = User.objects.get(**{User.USERNAME_FIELD: username})
        except User.DoesNotExist:
            raise CommandError(f"No user {username!r}.") from None
        services.reset_two_step(user)
        self.stdout.write(f"2-Step Verification reset for {username}.")
