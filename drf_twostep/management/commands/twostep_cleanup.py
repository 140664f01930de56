from django.core.management.base import BaseCommand

from drf_twostep import services


class Command(BaseCommand):
    help = (
        "Delete expired login challenges, expired SMS and email codes, and set-ups never "
        "confirmed in time, and refresh the enforcement state of every user who has or had "
        "a requirement (twostep_refresh). Run it daily, like clearsessions."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--no-refresh", action="store_true", help="Only delete; do not refresh the state."
        )

    def handle(self, *args, no_refresh, **options):
        counts = services.delete_expired()
        self.stdout.write(
            "Deleted {challenges} login challenges, {codes} codes, {pending_methods} "
            "unconfirmed methods and {trusted_devices} expired trusted devices.".format(**counts)
        )
        if not no_refresh:
            count = services.refresh_all()
            self.stdout.write(f"Refreshed the enforcement state of {count} user(s).")
