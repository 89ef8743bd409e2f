"""Operators create, change or rotate the OAuth client of a referenced service (as the referencing staff's
admin page does): public (PKCE) or confidential with private_key_jwt keys (a JWKS file or a jwks_uri).

    manage.py client_oauth_service "Tensio" --redirect-uri https://tensio.example/callback
    manage.py client_oauth_service "Tensio" --confidentiel --jwks cles.json --redirect-uri https://…
    manage.py client_oauth_service "Tensio" --renouveler

The change is audited (actor: system) and written to the operations log with the operator's system account.
"""

import getpass
import logging

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from catalogue import oauth_clients
from catalogue.models import Service
from catalogue.services import NotAllowed
from espace_sante.lib.models import jwks_from_file

logger = logging.getLogger("espace_sante.operations")


class Command(BaseCommand):
    help = "Create, change (or with --renouveler, rotate) the OAuth client of a referenced service, by name."

    def add_arguments(self, parser) -> None:
        parser.add_argument("service", help="name of the referenced service")
        parser.add_argument("--redirect-uri", action="append", default=[], help="redirect URI (repeatable)")
        parser.add_argument("--origine", action="append", default=[], help="allowed CORS origin (repeatable)")
        parser.add_argument("--confidentiel", action="store_true", help="confidential client (private_key_jwt)")
        parser.add_argument("--jwks", help="file holding the client's public JWKS document")
        parser.add_argument("--jwks-uri", default="", help="URL of the client's public JWKS")
        parser.add_argument("--renouveler", action="store_true", help="rotate: new client_id, old tokens revoked")

    def handle(self, *args, service: str, renouveler: bool, **options) -> None:
        found = Service.objects.filter(name=service).first()
        if found is None:
            raise CommandError(f"No referenced service named {service!r}.")
        if renouveler:
            try:
                application = oauth_clients.oauth_client_rotate(service=found, by=None)
            except NotAllowed as error:
                raise CommandError(str(error)) from None
            logger.warning("OAuth client of service %s rotated by operator %s", found.public_id, getpass.getuser())
            self.stdout.write(f"{found.name}: new client_id {application.client_id} (the old one is revoked).")
            return
        jwks = None
        if options["jwks"]:
            try:
                jwks = jwks_from_file(options["jwks"])
            except ValueError as error:
                raise CommandError(str(error)) from None
        application = found.application
        redirect_uris = options["redirect_uri"] or (application.redirect_uris.split() if application else [])
        origins = options["origine"] or (application.allowed_origins.split() if application else [])
        settings = oauth_clients.ClientSettings(
            confidential=options["confidentiel"],
            redirect_uris=redirect_uris,
            allowed_origins=origins,
            jwks_uri=options["jwks_uri"],
            jwks=jwks,
        )
        try:
            application = oauth_clients.oauth_client_set(service=found, settings=settings, by=None)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        logger.warning("OAuth client of service %s set by operator %s", found.public_id, getpass.getuser())
        kind = "confidential (private_key_jwt)" if settings.confidential else "public (PKCE)"
        self.stdout.write(f"{found.name}: {kind} client, client_id {application.client_id}.")
