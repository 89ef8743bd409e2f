from django.core.management.base import BaseCommand, CommandError

from espace_sante.health import run_checks


class Command(BaseCommand):
    help = "Check the database, the cache (Redis), the encrypted storage and the encryption keys."

    def handle(self, *args, **options) -> None:
        checks = run_checks()
        for check in checks:
            self.stdout.write(
                f"{check.name:<10} {'ok' if check.ok else 'FAIL':<5} {check.seconds * 1000:7.1f} ms  {check.detail}"
            )
        if not all(check.ok for check in checks):
            raise CommandError("at least one dependency is failing")
