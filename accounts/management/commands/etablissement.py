"""Operators register an establishment (FINESS) and its software clients (as the "Établissements" staff's
admin pages do), for the document-sharing API:

    manage.py etablissement 310781406 --nom "CHU de Toulouse" --type hopital
    manage.py etablissement 310781406 --client "DxCare" --jwks cles.json
    manage.py etablissement 310781406 --client "Logiciel du cabinet" --jwks-uri https://… --rpps 10101010101
    manage.py etablissement 310781406 --client "DxCare" --renouveler

A software client authenticates with private_key_jwt only (a public JWKS file or a jwks_uri). Every change
is audited (actor: system) and written to the operations log with the operator's system account.
"""

import getpass
import logging

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts import establishments
from accounts.enums import EstablishmentKind
from accounts.models import Establishment, Professional, SoftwareClient
from espace_sante.lib.models import jwks_from_file

logger = logging.getLogger("espace_sante.operations")


class Command(BaseCommand):
    help = "Create an establishment by FINESS number, or (with --client) register or rotate one of its software."

    def add_arguments(self, parser) -> None:
        parser.add_argument("finess", help="FINESS number of the establishment (9 characters)")
        parser.add_argument("--nom", help="name of the establishment (to create it)")
        parser.add_argument("--type", choices=EstablishmentKind.values, help="kind of establishment (to create it)")
        parser.add_argument("--client", help="name of a software client of the establishment")
        parser.add_argument("--jwks", help="file holding the software's public JWKS document")
        parser.add_argument("--jwks-uri", default="", help="URL of the software's public JWKS")
        parser.add_argument("--rpps", default="", help="RPPS of the professional the software acts for")
        parser.add_argument("--renouveler", action="store_true", help="rotate: new client_id, old tokens revoked")

    def handle(self, *args, finess: str, **options) -> None:
        finess = finess.strip().upper()
        establishment = Establishment.objects.filter(finess=finess).first()
        if establishment is None:
            if not options["nom"] or not options["type"]:
                raise CommandError(f"No establishment with FINESS {finess}: give --nom and --type to create it.")
            try:
                establishment = establishments.establishment_create(
                    finess=finess, name=options["nom"], kind=options["type"], by=None
                )
            except ValidationError as error:
                raise CommandError(" ".join(error.messages)) from None
            logger.warning("Establishment %s created by operator %s", establishment.public_id, getpass.getuser())
            self.stdout.write(f"{establishment}: created.")
        if options["client"]:
            self._client(establishment, options)

    def _client(self, establishment: Establishment, options) -> None:
        software = SoftwareClient.objects.filter(establishment=establishment, name=options["client"]).first()
        if options["renouveler"]:
            if software is None:
                raise CommandError(f"No software client named {options['client']!r} for {establishment.name}.")
            application = establishments.software_client_rotate(software=software, by=None)
            logger.warning("Software client %s rotated by operator %s", software.public_id, getpass.getuser())
            self.stdout.write(f"{software.name}: new client_id {application.client_id} (the old one is revoked).")
            return
        jwks = None
        if options["jwks"]:
            try:
                jwks = jwks_from_file(options["jwks"])
            except ValueError as error:
                raise CommandError(str(error)) from None
        professional = None
        if options["rpps"]:
            professional = Professional.objects.select_related("user").filter(rpps=options["rpps"]).first()
            if professional is None:
                raise CommandError(f"No professional with RPPS {options['rpps']}.")
        software = software or SoftwareClient(establishment=establishment, name=options["client"])
        software.oauth_jwks = jwks if jwks is not None else software.oauth_jwks
        software.oauth_jwks_uri = options["jwks_uri"] or software.oauth_jwks_uri
        software.professional = professional or software.professional
        try:
            software = establishments.software_client_save(software=software, by=None)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        logger.warning("Software client %s set by operator %s", software.public_id, getpass.getuser())
        self.stdout.write(f"{software.name}: private_key_jwt client, client_id {software.oauth_client_id}.")
