"""Establishments and their software clients, registered by the "Établissements" staff (admin) or by an
operator (`manage.py etablissement`). Every write is audited.

A software client's OAuth client (django-oauth-toolkit Application) is confidential, allows the client
credentials grant only and authenticates with private_key_jwt (keys: a JWKS document and/or a jwks_uri, as a
connected service's, checked by catalogue/oauth_clients.py): the secret DOT generates is hashed and shown to
nobody, and catalogue/oauth.py accepts no secret anyway. Rotation gives a new client_id and revokes every
token of the old one.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from oauth2_provider.models import get_application_model

from accounts.models import Establishment, SoftwareClient
from espace_sante.access.actor import Actor
from espace_sante.audit.actions import Action
from espace_sante.audit.log import record


class NotAllowed(Exception):
    pass


def establishment_saved(*, establishment: Establishment, created: bool, by: Actor | None) -> None:
    record(
        Action.ESTABLISHMENT_SAVED,
        actor=by,
        target=establishment,
        created=created,
        kind=establishment.kind,
        active=establishment.active,
    )


@transaction.atomic
def establishment_create(*, finess: str, name: str, kind: str, by: Actor | None) -> Establishment:
    establishment = Establishment(finess=finess.strip().upper(), name=name.strip(), kind=kind)
    establishment.full_clean()
    establishment.save()
    establishment_saved(establishment=establishment, created=True, by=by)
    return establishment


def keys_check(*, jwks, jwks_uri: str) -> None:
    from catalogue.oauth_clients import keys_problems

    if problems := keys_problems(jwks=jwks, jwks_uri=jwks_uri):
        raise ValidationError(
            {"oauth_jwks" if name == "jwks" else "oauth_jwks_uri": p for name, p in problems.items()}
        )


def professional_check(software: SoftwareClient) -> None:
    if software.professional is not None and not software.professional.user.is_active:
        raise ValidationError(
            {"professional": "Ce professionnel n’est pas actif : un logiciel ne peut agir pour lui."}
        )


def _new_application(software: SoftwareClient):
    Application = get_application_model()
    return Application.objects.create(
        name=f"{software.name} — {software.establishment.name}"[:255],
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
        redirect_uris="",
        skip_authorization=False,
        algorithm=Application.RS256_ALGORITHM,
    )


@transaction.atomic
def software_client_save(*, software: SoftwareClient, by: Actor | None) -> SoftwareClient:
    """Create or change a software client (keys, professional, active flag); its OAuth client is created
    with it. Refused (ValidationError) for unreadable or private keys, or an inactive professional."""
    keys_check(jwks=software.oauth_jwks, jwks_uri=software.oauth_jwks_uri)
    professional_check(software)
    created = software.pk is None
    software.full_clean(exclude=["oauth_client_id"])
    if not software.oauth_client_id:
        software.oauth_client_id = _new_application(software).client_id
    software.save()
    keys = "document" if software.oauth_jwks else "uri"
    record(
        Action.SOFTWARE_CLIENT_SET,
        actor=by,
        target=software,
        created=created,
        keys=keys,
        professional=software.professional_id is not None,
        active=software.active,
    )
    return software


@transaction.atomic
def software_client_rotate(*, software: SoftwareClient, by: Actor | None):
    """A new client_id (a leaked or compromised one): every token of the old client is revoked."""
    from catalogue.oauth_clients import application_tokens_revoke

    software = SoftwareClient.objects.select_for_update().select_related("establishment").get(pk=software.pk)
    old = software.application
    if old is None:
        raise NotAllowed("Ce logiciel n’a pas encore de client OAuth.")
    new = _new_application(software)
    revoked = application_tokens_revoke(old)
    old.name = f"{software.name} (remplacé le {timezone.localdate():%d/%m/%Y})"[:255]
    old.save(update_fields=["name"])
    software.oauth_client_id = new.client_id
    software.save(update_fields=["oauth_client_id", "updated_at"])
    record(Action.SOFTWARE_CLIENT_ROTATED, actor=by, target=software, tokens_revoked=revoked)
    return new
