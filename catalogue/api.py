"""The connected services' side of the FHIR server (/api/v1/): who holds a bearer token, and what it may do.

The FHIR machinery is the kernel's (espace_sante/fhir/); the resources are served by the apps that own the data
(accounts: Patient, profil: Observation, agenda: Appointment, dossier: DocumentReference and Binary). This
module is the first of the FHIR_AUTHENTICATORS: it turns a bearer token into a ServiceClient, whose every
call, accepted or refused, is traced in the patient's access history under the service's name (role "system").

Refusals: 401 (no, unknown, expired or revoked token; ended connection), 403 (scope not consented, suspended
service, connection waiting for the young adult's confirmation), 429 (rate limit).
"""

import hashlib
import time
from dataclasses import dataclass
from uuid import UUID

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from oauth2_provider.models import get_access_token_model

from catalogue import services
from catalogue.actor import ServiceActor
from catalogue.enums import ConnectionStatus, Scope, ServiceStatus
from catalogue.models import Connection, Service
from catalogue.oauth import CONNECTION_PREFIX
from espace_sante.access import policy
from espace_sante.audit.actions import Action
from espace_sante.audit.log import record
from espace_sante.fhir.errors import FhirError

DEFAULT_RATE_PER_MINUTE = 120

# FHIR resource type -> (data scope to read, data scope to write); None: any connected service may read it.
RESOURCE_SCOPES: dict[str, tuple[str | None, str | None]] = {
    "Patient": (None, None),
    "Observation": (Scope.MEASURES_READ, Scope.MEASURES_WRITE),
    "Appointment": (Scope.AGENDA_READ, Scope.AGENDA_WRITE),
    "DocumentReference": (Scope.DOCUMENTS_READ, Scope.DOCUMENTS_WRITE),
    "Binary": (Scope.DOCUMENTS_READ, None),
}
# The SMART scope a client should ask for, named in WWW-Authenticate when it is missing.
SMART_NAMES = {"Binary": "DocumentReference"}


@dataclass
class ServiceClient:
    """A connected service calling for one patient, through the connection its token carries."""

    connection: Connection
    actor: ServiceActor
    token_id: int
    token_scopes: frozenset

    @property
    def patient(self):
        return self.connection.patient

    def allows(self, resource_type: str, interaction: str) -> bool:
        if resource_type not in RESOURCE_SCOPES:
            return False
        write = interaction == "create"
        read_scope, write_scope = RESOURCE_SCOPES[resource_type]
        scope = write_scope if write else read_scope
        if scope is None:
            return not write
        # The stored token names the data scopes behind its SMART scopes (catalogue/smart.py, at consent).
        return scope in self.token_scopes and policy.can_service_use(self.connection, scope)

    def scope_needed(self, resource_type: str, interaction: str) -> str:
        permission = "c" if interaction == "create" else "rs"
        return f"patient/{SMART_NAMES.get(resource_type, resource_type)}.{permission}"

    def traced(self, *, resource_type: str, interaction: str, target=None, count: int | None = None) -> None:
        data = {"resource": resource_type}
        if count is not None:
            data["count"] = count
        record(Action.SERVICE_API_READ, actor=self.actor, patient=self.patient, target=target, **data)

    def refused(self, *, reason: str, method: str, path: str) -> None:
        services.api_refusal_record(by=self.actor, patient=self.patient, reason=reason, method=method, path=path)


def authenticate(request: HttpRequest) -> ServiceClient | None:
    """The connection behind the bearer token, or FhirError (traced by the kernel once the client is known);
    None for a token that is not a connected service's (the kernel asks the next authenticator). The kernel
    answers a missing Authorization header before any authenticator."""
    _, _, raw = request.headers.get("Authorization", "").partition(" ")
    checksum = hashlib.sha256(raw.strip().encode("utf-8")).hexdigest()
    token = get_access_token_model().objects.select_related("application").filter(token_checksum=checksum).first()
    if token is None or token.application is None:
        return None
    if not Service.objects.filter(oauth_client_id=token.application.client_id).exists():
        return None
    scopes = frozenset(token.scope.split())
    tags = [scope[len(CONNECTION_PREFIX) :] for scope in scopes if scope.startswith(CONNECTION_PREFIX)]
    connection = None
    if len(tags) == 1:
        try:
            connection = (
                Connection.objects.select_related("service", "patient__space", "patient__user")
                .filter(public_id=UUID(tags[0]), service__oauth_client_id=token.application.client_id)
                .first()
            )
        except ValueError:
            connection = None
    if connection is None:
        raise FhirError(
            "Ce jeton n’est rattaché à aucun service connecté.", status=401, code="login", reason="unknown_connection"
        )
    client = ServiceClient(
        connection=connection,
        actor=ServiceActor.for_service(connection.service),
        token_id=token.pk,
        token_scopes=scopes,
    )
    request.fhir_client = client  # for the refusal trace
    if token.is_expired():
        raise FhirError("Jeton d’accès expiré ou révoqué.", status=401, code="expired", reason="expired_token")
    if connection.status == ConnectionStatus.DISCONNECTED:
        raise FhirError("Le patient a déconnecté ce service.", status=401, code="expired", reason="disconnected")
    _rate_limit(token.pk)
    if connection.service.status != ServiceStatus.ONLINE:
        raise FhirError(
            "Ce service n’est plus autorisé à échanger des données.", status=403, code="forbidden", reason="suspended"
        )
    if connection.status != ConnectionStatus.ACTIVE or connection.needs_reapproval:
        raise FhirError(
            "Le patient doit confirmer cette connexion.", status=403, code="forbidden", reason="reapproval"
        )
    _check_patient_parameter(request, client)
    return client


def _check_patient_parameter(request: HttpRequest, client: ServiceClient) -> None:
    """A search naming another patient is refused outright (403), with nothing of that patient."""
    own = str(client.patient.public_id)
    for name in ("patient", "subject", "actor"):
        for value in request.GET.getlist(name):
            wanted = value.rsplit("Patient/", 1)[-1]
            if wanted != own:
                raise FhirError(
                    "Ce jeton ne concerne pas ce patient.", status=403, code="forbidden", reason="foreign_patient"
                )


def _rate_limit(token_id: int) -> None:
    limit = getattr(settings, "CATALOGUE_API_RATE_PER_MINUTE", DEFAULT_RATE_PER_MINUTE)
    window = int(time.time() // 60)
    key = f"catalogue:api:{token_id}:{window}"
    cache.add(key, 0, timeout=70)
    try:
        count = cache.incr(key)
    except ValueError:
        cache.set(key, 1, timeout=70)
        count = 1
    if count > limit:
        retry = 60 - int(time.time()) % 60
        raise FhirError(
            "Trop de requêtes : réessayez dans une minute.",
            status=429,
            code="throttled",
            reason="rate_limited",
            headers={"Retry-After": str(retry)},
        )
