"""Operators grant or withdraw the role of médecin régulateur of the SAMU (centre 15).

Only a régulateur may open a « régulation du SAMU » emergency access (L.1111-17 I); the professional never
declares it themself. The change is written to the operations log with the operator's system account.
"""

import getpass
import logging

from django.core.management.base import BaseCommand, CommandError

from accounts.enums import Profession
from accounts.models import Professional

logger = logging.getLogger("espace_sante.operations")


class Command(BaseCommand):
    help = "Grant (or with --retirer, withdraw) the SAMU regulator role of a professional, found by RPPS number."

    def add_arguments(self, parser) -> None:
        parser.add_argument("rpps", help="RPPS number of the professional (11 digits)")
        parser.add_argument("--retirer", action="store_true", help="withdraw the role instead of granting it")

    def handle(self, *args, rpps: str, retirer: bool, **options) -> None:
        professional = Professional.objects.select_related("user").filter(rpps=rpps.strip()).first()
        if professional is None:
            raise CommandError(f"No professional with RPPS number {rpps!r}.")
        granted = not retirer
        if granted and professional.profession != Profession.MEDECIN:
            raise CommandError("Only a médecin can be a SAMU regulator (médecin régulateur du centre 15).")
        if professional.samu_regulator == granted:
            state = "is" if granted else "is not"
            self.stdout.write(f"Nothing to do: {professional.label} already {state} a SAMU regulator.")
            return
        Professional.objects.filter(pk=professional.pk).update(samu_regulator=granted)
        logger.warning(
            "SAMU regulator role %s for professional %s (RPPS %s) by operator %s",
            "granted" if granted else "withdrawn",
            professional.public_id,
            professional.rpps,
            getpass.getuser(),
        )
        self.stdout.write(f"{professional.label}: SAMU regulator role {'granted' if granted else 'withdrawn'}.")
