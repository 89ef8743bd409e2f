"""Establishments' and professionals' software on the FHIR server (/api/v1/): the document-sharing API of
issue 17 (IHE MHD, ANS PDSm). This module is one of the FHIR_AUTHENTICATORS: it recognises the tokens issued
to a SoftwareClient (client credentials + private_key_jwt, catalogue/oauth.py), which carry the tag
`software:<public_id>` in their stored scope, and turns one into a SoftwareApiClient.

Scopes (SMART v2 system scopes, the document-sharing API's only): SYSTEM_SCOPES below; any other is refused
with invalid_scope. The patient is named per request (by INS) rather than by the token: `patient` is None,
and no patient-bound resource type (the kernel's `Resource.patient_bound`) serves these clients.

Refusals: 401 (unknown, expired or revoked token; software client, establishment or professional no longer
active), 403 (scope not granted, resource type not served to software clients).
"""

import hashlib
from dataclasses import dataclass
from uuid import UUID

from django.http import HttpRequest
from oauth2_provider.models import get_access_token_model

from accounts.models import Establishment, Professional, SoftwareClient
from espace_sante.access.actor import Actor
from espace_sante.audit.actions import Action, ActorRole
from espace_sante.audit.log import record
from espace_sante.fhir.errors import FhirError

SOFTWARE_PREFIX = "software:"

# The SMART v2 system scopes a software client may ask for: publish documents (ITI-65: DocumentReference and
# the SubmissionSet List, as a transaction Bundle), find them (ITI-67, ITI-66) and retrieve them (ITI-68).
SYSTEM_SCOPES: dict[str, str] = {
    "system/DocumentReference.crs": "Déposer, rechercher et lire des documents",
    "system/DocumentReference.c": "Déposer des documents",
    "system/DocumentReference.rs": "Rechercher et lire des documents",
    "system/Binary.r": "Lire le contenu des documents",
    "system/List.crs": "Déposer, rechercher et lire des lots de soumission",
    "system/Bundle.c": "Déposer un lot de documents (transaction)",
}
INTERACTION_LETTER = {"create": "c", "read": "r", "search-type": "s"}


class ScopeRefused(Exception):
    pass


def check_requested(scopes) -> None:
    """Every requested scope must be one of SYSTEM_SCOPES, and at least one asked for (ScopeRefused)."""
    unknown = sorted(set(scopes) - set(SYSTEM_SCOPES))
    if unknown:
        raise ScopeRefused(
            f"Scopes not available to software clients: {' '.join(unknown)[:200]}. Allowed: {' '.join(SYSTEM_SCOPES)}."
        )
    if not scopes:
        raise ScopeRefused("Ask for at least one scope.")


def software_in(scopes) -> SoftwareClient | None:
    tags = [scope.removeprefix(SOFTWARE_PREFIX) for scope in scopes or () if scope.startswith(SOFTWARE_PREFIX)]
    if len(tags) != 1:
        return None
    try:
        return (
            SoftwareClient.objects.select_related("establishment", "professional__user")
            .filter(public_id=UUID(tags[0]))
            .first()
        )
    except ValueError:
        return None


@dataclass
class SoftwareActor(Actor):
    """A software acting through the API. For a professional's software: the professional (role professional,
    their account), the establishment named beside them; for an establishment's own software: role "system",
    labelled with the establishment's name."""

    establishment_name: str = ""
    professional_label: str = ""

    @classmethod
    def for_software(cls, software: SoftwareClient) -> "SoftwareActor":
        professional = software.professional
        if professional is not None:
            return cls(
                user=professional.user,
                role=ActorRole.PROFESSIONAL,
                establishment_name=software.establishment.name,
                professional_label=professional.label,
            )
        return cls(user=None, role=ActorRole.SYSTEM, establishment_name=software.establishment.name)

    @property
    def label(self) -> str:
        if self.professional_label:
            return f"{self.professional_label} ({self.establishment_name})"
        return self.establishment_name


@dataclass
class SoftwareApiClient:
    """A software client calling with its token: for an establishment, maybe for one of its professionals."""

    software: SoftwareClient
    actor: SoftwareActor
    token_id: int
    token_scopes: frozenset
    patient = None  # named per request (INS), not by the token

    @property
    def establishment(self) -> Establishment:
        return self.software.establishment

    @property
    def professional(self) -> Professional | None:
        return self.software.professional

    def allows(self, resource_type: str, interaction: str) -> bool:
        letter = INTERACTION_LETTER.get(interaction)
        if letter is None:
            return False
        prefix = f"system/{resource_type}."
        return any(scope.startswith(prefix) and letter in scope.removeprefix(prefix) for scope in self.token_scopes)

    def scope_needed(self, resource_type: str, interaction: str) -> str:
        return f"system/{resource_type}.{'c' if interaction == 'create' else 'rs'}"

    def traced(self, *, resource_type: str, interaction: str, target=None, count: int | None = None) -> None:
        data = {"resource": resource_type}
        if count is not None:
            data["count"] = count
        patient = getattr(target, "patient", None) if target is not None else None
        record(Action.SOFTWARE_API_READ, actor=self.actor, patient=patient, target=target, **data)

    def refused(self, *, reason: str, method: str, path: str) -> None:
        """No patient is known from the token: the refusal is recorded without one (operators' log)."""
        record(Action.SOFTWARE_API_REFUSED, actor=self.actor, patient=None, reason=reason, method=method, path=path)


def authenticate(request: HttpRequest) -> SoftwareApiClient | None:
    """The software client behind the bearer token; None for a token that is not a software client's (the
    next authenticator is asked); FhirError for one of ours that may not be used."""
    _, _, raw = request.headers.get("Authorization", "").partition(" ")
    checksum = hashlib.sha256(raw.strip().encode("utf-8")).hexdigest()
    token = get_access_token_model().objects.select_related("application").filter(token_checksum=checksum).first()
    if token is None or token.application is None:
        return None
    scopes = frozenset(token.scope.split())
    if not any(scope.startswith(SOFTWARE_PREFIX) for scope in scopes):
        return None
    software = software_in(scopes)
    if software is None or software.oauth_client_id != token.application.client_id:
        raise FhirError(
            "Ce jeton n’est rattaché à aucun logiciel enregistré.", status=401, code="login", reason="unknown_software"
        )
    client = SoftwareApiClient(
        software=software, actor=SoftwareActor.for_software(software), token_id=token.pk, token_scopes=scopes
    )
    request.fhir_client = client  # for the refusal trace
    if token.is_expired():
        raise FhirError("Jeton d’accès expiré ou révoqué.", status=401, code="expired", reason="expired_token")
    if not software.active:
        raise FhirError("Ce logiciel n’est plus autorisé.", status=401, code="expired", reason="software_inactive")
    if not software.establishment.active:
        raise FhirError(
            "Cet établissement n’est plus autorisé.", status=401, code="expired", reason="establishment_inactive"
        )
    if not software.professional_is_active:
        raise FhirError(
            "Le professionnel pour qui agit ce logiciel n’est plus actif.",
            status=403,
            code="forbidden",
            reason="professional_inactive",
        )
    return client
