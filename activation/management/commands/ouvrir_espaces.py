from django.core.management.base import BaseCommand

from activation.services.spaces import spaces_open_unopposed


class Command(BaseCommand):
    help = "Open the spaces of people informed six weeks ago or more who did not oppose (also daily in beat)."

    def handle(self, *args, **options) -> None:
        self.stdout.write(f"{spaces_open_unopposed()} spaces opened")
