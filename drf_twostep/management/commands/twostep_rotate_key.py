from django.core.management.base import BaseCommand, CommandError
from django.db import connections, transaction

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
            # One batch at a time in pk order: memory stays bounded, each batch's row locks
            # last one short transaction, and resuming skips what is already rotated.
            with transaction.atomic():
                batch = TwoStepMethod.objects.exclude(secret="").order_by("pk").only("secret")
                if last_pk is not None:
                    batch = batch.filter(pk__gt=last_pk)
                batch = list(batch.select_for_update()[:batch_size])
                if not batch:
                    break
                changed = []
                for method in batch:
                    if crypto.is_current(method.secret):
                        current += 1
                        continue
                    try:
                        method.secret = crypto.rotate(method.secret)
                    except crypto.InvalidToken:
                        unreadable.append(method.pk)
                        continue
                    changed.append(method)
                _write(changed)
                rotated += len(changed)
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


def _write(methods) -> None:
    """Store the new secrets of ``methods``: one UPDATE for them all on PostgreSQL, one per
    method elsewhere (Django's bulk_update costs more than either)."""
    if not methods:
        return
    connection = connections[TwoStepMethod.objects.db]
    if connection.vendor != "postgresql":
        for method in methods:
            TwoStepMethod.objects.filter(pk=method.pk).update(secret=method.secret)
        return
    table = connection.ops.quote_name(TwoStepMethod._meta.db_table)
    rows = ", ".join(["(%s, %s)"] * len(methods))
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET secret = new.secret FROM (VALUES {rows}) AS new (id, secret) "
            f"WHERE {table}.id = new.id",
            [value for method in methods for value in (method.pk, method.secret)],
        )
