from django.core.management.base import BaseCommand

from espace_sante.crypto.keys import keyring
from espace_sante.crypto.rotation import rotate_all


class Command(BaseCommand):
    help = "Re-encrypt fields and re-wrap file keys with the first key of DATA_ENCRYPTION_KEYS."

    def handle(self, *args, **options) -> None:
        report = rotate_all()
        self.stdout.write(
            f"key {keyring().current_id}: {report.rows} encrypted values re-encrypted, {report.files} files re-wrapped"
        )
