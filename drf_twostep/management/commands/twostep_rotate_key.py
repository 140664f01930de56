from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from drf_twostep import crypto
from drf_twostep.models import TwoStepMethod


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored method secret under the first key of ENCRYPTION_KEYS. Secrets "
        "already under that key are left as they are, and each batch commits on its own, so "
        "after an interruption running the command again finishes the job."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--batch-size",
            type=int,
            default=500,
            help="Secrets re-encrypted per transaction (default 500).",
        )

    def handle(self, *args, batch_size, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        rotated = current = 0
        unreadable = []
        last_pk = None
        while True:
            with transaction.atomic():
                batch = TwoStepMethod.objects.exclude(secret="").order_by("pk")
                if last_pk is not None:
                    batch = batch.filter(pk__gt=last_pk)
                batch = list(batch.select_for_update()[:batch_size])
                if not batch:
                    break
                for method in batch:
                    if crypto.is_current(method.secret):
                        current += 1
                        continue
                    try:
                        secret = crypto.rotate(method.secret)
                    except crypto.InvalidToken:
                        unreadable.append(method.pk)
                        continue
                    TwoStepMethod.objects.filter(pk=method.pk).update(secret=secret)
                    rotated += 1
                last_pk = batch[-1].pk
        self.stdout.write(
            f"Re-encrypted {rotated} secret(s); {current} already under the newest key."
        )
        if unreadable:
            raise CommandError(
                f"{len(unreadable)} secret(s) decrypt under no configured key (method ids: "
                f"{', '.join(map(str, unreadable))}). Add the key they were encrypted with to "
                "ENCRYPTION_KEYS and run the command again."
            )
