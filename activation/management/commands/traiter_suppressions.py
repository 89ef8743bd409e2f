from django.core.management.base import BaseCommand

from activation.services.spaces import deletions_process


class Command(BaseCommand):
    help = "Carry out the deletion requests of closed spaces (the law allows three months; also daily in beat)."

    def handle(self, *args, **options) -> None:
        self.stdout.write(f"{deletions_process()} deletions carried out")
