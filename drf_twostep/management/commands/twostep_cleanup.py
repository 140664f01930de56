from django.core.management.base import BaseCommand

from drf_twostep import services


class Command(BaseCommand):
    help = (
        "Delete expired login challenges, expired SMS and email codes, and set-ups never "
        "confirmed in time. Run it daily, like clearsessions."
    )

    def handle(self, *args, **options):
        counts = services.delete_expired()
        self.stdout.write(
            "Deleted {challenges} login challenges, {codes} codes and {pending_methods} "
            "unconfirmed methods.".format(**counts)
        )
