from django.core.management.base import BaseCommand, CommandError

from espace_sante.crypto.keys import keyring
from espace_sante.crypto.rotation import rotate_all


class Command(BaseCommand):
    help = "Re-encrypt fields and re-wrap file keys with the first key of DATA_ENCRYPTION_KEYS."

    def handle(self, *args, **options) -> None:
        report = rotate_all()
        self.stdout.write(
            f"key {keyring().current_id}: {report.rows} encrypted values re-encrypted, {report.files} files re-wrapped"
        )
        if report.failures:
            # Exit non-zero: removing the old key now would lose what could not be opened.
            raise CommandError(
                f"{report.failures} values or files could not be opened with this ring and were left as they are; "
                "keep the old keys until they are restored or removed"
            )
