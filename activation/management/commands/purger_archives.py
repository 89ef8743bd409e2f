from django.core.management.base import BaseCommand

from activation.services.spaces import archives_purge


class Command(BaseCommand):
    help = "Delete the archives of spaces closed ten years ago or more (also daily in beat)."

    def handle(self, *args, **options) -> None:
        self.stdout.write(f"{archives_purge()} archives purged")
