from django.core.management.base import BaseCommand
from django.db import transaction

from drf_twostep import crypto
from drf_twostep.models import TwoStepMethod


class Command(BaseCommand):
    help = "Re-encrypt every stored method secret under the first key of ENCRYPTION_KEYS."

    def handle(self, *args, **options):
        count = 0
        with transaction.atomic():
            for method in TwoStepMethod.objects.exclude(secret="").select_for_update().iterator():
                method.secret = crypto.rotate(method.secret)
                method.save(update_fields=["secret"])
                count += 1
        self.stdout.write(f"Re-encrypted {count} secret(s).")
