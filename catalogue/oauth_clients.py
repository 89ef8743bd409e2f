"""The OAuth client of a referenced service: created, changed and rotated by the referencing staff (Service
admin pages) or an operator (`manage.py client_oauth_service`). Every write is audited.

A client is public (authorization code + PKCE S256, no authentication) or confidential asymmetric
(private_key_jwt with keys from a registered JWKS document or jwks_uri): never a shared secret. Redirect
URIs are https (http on a loopback host only where the settings allow http, dev and tests), without a
fragment or a wildcard; allowed origins (CORS, catalogue/cors.py) are bare https origins.
"""

import datetime
import ipaddress
import json
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from oauth2_provider.models import (
    get_access_token_model,
    get_application_model,
    get_grant_model,
    get_refresh_token_model,
)
from oauth2_provider.settings import oauth2_settings

from catalogue.models import Service
from espace_sante.access.actor import Actor
from espace_sante.audit.actions import Action
from espace_sante.audit.log import record

LOOPBACK_HOSTS = {"localhost"}
PRIVATE_JWK_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


@dataclass(frozen=True)
class ClientSettings:
    confidential: bool
    redirect_uris: list[str]
    allowed_origins: list[str] = field(default_factory=list)
    jwks_uri: str = ""
    jwks: dict | None = None


def _http_allowed() -> bool:
    return "http" in oauth2_settings.ALLOWED_REDIRECT_URI_SCHEMES


def _is_loopback(host: str) -> bool:
    if host in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _url_problem(value: str, *, origin: bool) -> str | None:
    what = "L’origine" if origin else "L’adresse de retour"
    if not value.isascii() or any(character.isspace() for character in value):
        return f"{what} « {value} » doit être écrite en caractères ASCII, sans espace (nom de domaine en punycode)."
    if "*" in value:
        return f"{what} « {value} » ne peut pas contenir de joker (*)."
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        return f"{what} « {value} » n’est pas une adresse valide."
    if parts.fragment or "#" in value:
        return f"{what} « {value} » ne peut pas contenir de fragment (#)."
    if not parts.hostname or parts.username or parts.password:
        return f"{what} « {value} » doit nommer un hôte, sans identifiant ni mot de passe."
    if parts.scheme != "https" and not (parts.scheme == "http" and _http_allowed() and _is_loopback(parts.hostname)):
        return f"{what} « {value} » doit commencer par https:// (http:// seulement vers la machine locale, en test)."
    if origin and (parts.path not in ("", "/") or parts.query):
        return f"L’origine « {value} » ne comprend que le schéma, l’hôte et le port (ex. https://app.example)."
    return None


def _jwks_problem(jwks) -> str | None:
    from jwcrypto import jwk
    from jwcrypto.common import JWException

    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list) or not jwks["keys"]:
        return "Le JWKS doit être un objet JSON avec une liste « keys » non vide."
    for key in jwks["keys"]:
        if not isinstance(key, dict) or key.get("kty") not in ("RSA", "EC"):
            return "Chaque clé du JWKS doit être une clé publique RSA ou EC."
        if PRIVATE_JWK_MEMBERS & set(key):
            return "Le JWKS contient une clé privée : n’enregistrez que les clés publiques."
    try:
        jwk.JWKSet.from_json(json.dumps(jwks))
    except (JWException, ValueError, TypeError):
        return "Le JWKS n’est pas lisible."
    return None


def keys_problems(*, jwks, jwks_uri: str) -> dict[str, list[str]]:
    """French messages, by field ("jwks", "jwks_uri"), for a confidential client's public keys (private_key_jwt):
    a JWKS document of public keys and/or an https jwks_uri, at least one of the two. Used for connected
    services and for software clients (accounts/establishments.py)."""
    problems: dict[str, list[str]] = {}
    if not jwks and not jwks_uri:
        problems.setdefault("jwks", []).append(
            "Un client confidentiel s’authentifie par une clé : indiquez son JWKS ou son adresse (jwks_uri)."
        )
    if jwks and (problem := _jwks_problem(jwks)):
        problems.setdefault("jwks", []).append(problem)
    if jwks_uri and (problem := _url_problem(jwks_uri, origin=False)):
        problems.setdefault("jwks_uri", []).append(problem.replace("L’adresse de retour", "L’adresse du JWKS"))
    return problems


def client_settings_check(settings: ClientSettings) -> None:
    """French messages, by field, for everything wrong with `settings` (ValidationError)."""
    problems: dict[str, list[str]] = {}
    if not settings.redirect_uris:
        problems.setdefault("redirect_uris", []).append("Indiquez au moins une adresse de retour.")
    for uri in settings.redirect_uris:
        if problem := _url_problem(uri, origin=False):
            problems.setdefault("redirect_uris", []).append(problem)
    for origin in settings.allowed_origins:
        if problem := _url_problem(origin, origin=True):
            problems.setdefault("allowed_origins", []).append(problem)
    if settings.confidential:
        for name, found in keys_problems(jwks=settings.jwks, jwks_uri=settings.jwks_uri).items():
            problems.setdefault(name, []).extend(found)
    elif settings.jwks or settings.jwks_uri:
        problems.setdefault("jwks", []).append("Un client public n’a pas de clé : laissez le JWKS vide.")
    if problems:
        raise ValidationError(problems)


@transaction.atomic
def oauth_client_set(*, service: Service, settings: ClientSettings, by: Actor | None):
    """Create the service's OAuth client, or change its type, redirect URIs, origins and keys."""
    client_settings_check(settings)
    Application = get_application_model()
    service = Service.objects.select_for_update().get(pk=service.pk)
    application = service.application
    created = application is None
    if created:
        application = Application(
            name=service.name,
            authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
            skip_authorization=False,
            algorithm=Application.RS256_ALGORITHM,
        )
    application.client_type = Application.CLIENT_CONFIDENTIAL if settings.confidential else Application.CLIENT_PUBLIC
    application.redirect_uris = " ".join(dict.fromkeys(settings.redirect_uris))
    application.allowed_origins = " ".join(dict.fromkeys(settings.allowed_origins))
    application.algorithm = Application.RS256_ALGORITHM
    application.save()  # the secret DOT generates is hashed and shown to nobody: no client uses a secret
    service.oauth_client_id = application.client_id
    service.oauth_jwks = settings.jwks if settings.confidential and settings.jwks else None
    service.oauth_jwks_uri = settings.jwks_uri if settings.confidential else ""
    service.save(update_fields=["oauth_client_id", "oauth_jwks", "oauth_jwks_uri"])
    keys = "document" if service.oauth_jwks else ("uri" if service.oauth_jwks_uri else "none")
    record(
        Action.SERVICE_OAUTH_CLIENT_SET,
        actor=by,
        target=service,
        created=created,
        client_type=application.client_type,
        redirect_uris=len(settings.redirect_uris),
        origins=len(settings.allowed_origins),
        keys=keys,
    )
    return application


def application_tokens_revoke(application) -> int:
    """Every token of a client, cut off at once (rows kept, expired, so a later call is still traced)."""
    now = timezone.now()
    expired = (
        get_access_token_model()
        .objects.filter(application=application, expires__gt=now)
        .update(expires=now - datetime.timedelta(seconds=1))
    )
    get_refresh_token_model().objects.filter(application=application, revoked__isnull=True).update(revoked=now)
    get_grant_model().objects.filter(application=application).delete()
    return expired


@transaction.atomic
def oauth_client_rotate(*, service: Service, by: Actor | None):
    """A new client_id for the service (a leaked or compromised one): the old client's tokens and codes are
    revoked and it can no longer be used (no redirect URI, no origin). Patients' connections stay: the
    service runs the authorization flow again with the new client_id."""
    from catalogue.services import NotAllowed

    Application = get_application_model()
    service = Service.objects.select_for_update().get(pk=service.pk)
    old = service.application
    if old is None:
        raise NotAllowed("Ce service n’a pas encore de client OAuth : créez-le d’abord.")
    new = Application.objects.create(
        name=service.name,
        client_type=old.client_type,
        authorization_grant_type=old.authorization_grant_type,
        redirect_uris=old.redirect_uris,
        allowed_origins=old.allowed_origins,
        skip_authorization=False,
        algorithm=Application.RS256_ALGORITHM,
    )
    revoked = application_tokens_revoke(old)
    old.redirect_uris, old.allowed_origins = "", ""
    old.name = f"{service.name} (remplacé le {timezone.localdate():%d/%m/%Y})"[:255]
    old.save(update_fields=["redirect_uris", "allowed_origins", "name"])
    service.oauth_client_id = new.client_id
    service.save(update_fields=["oauth_client_id"])
    record(Action.SERVICE_OAUTH_CLIENT_ROTATED, actor=by, target=service, tokens_revoked=revoked)
    return new
