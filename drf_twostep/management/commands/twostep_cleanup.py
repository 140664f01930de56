from django.core.management.base import BaseCommand, CommandError

from drf_twostep import services
from drf_twostep.services.housekeeping import DELETE_BATCH_SIZE


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
        parser.add_argument(
            "--batch-size",
            type=int,
            default=DELETE_BATCH_SIZE,
            help=f"Rows deleted per transaction (default {DELETE_BATCH_SIZE}).",
        )

    def handle(self, *args, no_refresh, batch_size, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        counts = services.delete_expired(batch_size=batch_size)
        self.stdout.write(
            "Deleted {challenges} login challenges, {codes} codes, {pending_methods} "
            "unconfirmed methods and {trusted_devices} expired trusted devices.".format(**counts)
        )
        if not no_refresh:
            count = services.refresh_all()
            self.stdout.write(f"Refreshed the enforcement state of {count} user(s).")
