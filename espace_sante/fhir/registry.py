"""The resources the FHIR server serves, and who may call it.

Each app serves its own resource types from its own `api.py` (a Resource subclass, listed in the
FHIR_RESOURCES setting); each app that owns API clients provides an authenticator (FHIR_AUTHENTICATORS, tried
in order: catalogue for connected services, accounts for establishments' and professionals' software). The
kernel imports none of them: it loads them by their dotted paths from the settings.
"""

import datetime
from dataclasses import dataclass
from functools import cache
from typing import Protocol

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.module_loading import import_string

from espace_sante.fhir.errors import FhirError
from espace_sante.fhir.search import SearchParam


class Client(Protocol):
    """Who calls the API (a connected service's token, a professional's software…), as the authenticator
    found it. The resources ask it what it may do and trace through it in the patient's history."""

    patient: object  # the patient the token is bound to (a connected service's), or None: named per request

    def allows(self, resource_type: str, interaction: str) -> bool: ...

    def scope_needed(self, resource_type: str, interaction: str) -> str: ...

    def traced(self, *, resource_type: str, interaction: str, target=None, count: int | None = None) -> None: ...

    def refused(self, *, reason: str, method: str, path: str) -> None: ...


@dataclass
class Context:
    request: HttpRequest
    client: Client
    base: str  # the FHIR base URL, without a trailing slash

    def url(self, resource_type: str, resource_id: str = "") -> str:
        return f"{self.base}/{resource_type}/{resource_id}" if resource_id else f"{self.base}/{resource_type}"

    @property
    def patient_reference(self) -> str:
        """For patient-bound clients only (a connected service's token): `client.patient` is not None."""
        return f"Patient/{self.client.patient.public_id}"

    def require_own_patient(self, reference: str | None) -> None:
        """A resource sent for another patient than the client's is refused (403), naming nobody."""
        own = (self.patient_reference, self.url("Patient", str(self.client.patient.public_id)))
        if reference is not None and reference not in own:
            raise FhirError(
                "Ce jeton ne concerne pas ce patient.", status=403, code="forbidden", reason="foreign_patient"
            )


class Resource:
    """One FHIR resource type served from an app's own models, through its services and the access policy."""

    type: str = ""
    profile: str = ""  # canonical URL of the profile it conforms to, if any
    documentation: str = ""
    interactions: tuple[str, ...] = ("read", "search-type")
    search_params: tuple[SearchParam, ...] = ()
    sort_fields: dict[str, str] = {}  # search name ("date", "_lastUpdated") -> model field or annotation
    default_sort: str = "-_lastUpdated"
    id_field = "public_id"
    raw_content = False  # Binary: read answers the content itself unless FHIR JSON is asked for
    last_updated_field = "updated_at"
    # Served only to clients whose token names the patient (client.patient); a client without one (a software
    # client, which names the patient per request) is refused, whatever its scopes, until a type says False.
    patient_bound = True

    def queryset(self, ctx: Context):
        """What this client may read of this type (the access policy's answer)."""
        raise NotImplementedError

    def to_fhir(self, obj, ctx: Context) -> dict:
        raise NotImplementedError

    def create(self, data: dict, ctx: Context):
        """Store a resource sent by the client (through the app's services); FhirInputError when refused."""
        raise FhirError("Création non prise en charge.", status=405, code="not-supported")

    def read_response(self, obj, ctx: Context) -> HttpResponse | None:
        """A non-JSON answer to a read (Binary's raw content), or None for the FHIR JSON."""
        return None

    def version(self, obj) -> str:
        return str(getattr(obj, "version", 1))

    def last_updated(self, obj) -> datetime.datetime:
        return getattr(obj, self.last_updated_field)

    def resource(self, obj, ctx: Context) -> dict:
        """The FHIR JSON of one object, with `meta.versionId` and `meta.lastUpdated`."""
        data = self.to_fhir(obj, ctx)
        meta = data.setdefault("meta", {})
        meta["versionId"] = self.version(obj)
        meta["lastUpdated"] = self.last_updated(obj).isoformat(timespec="milliseconds")
        return {"resourceType": data.pop("resourceType"), "id": data.pop("id"), **data}

    def etag(self, obj) -> str:
        return f'W/"{self.version(obj)}"'

    def all_search_params(self) -> list[SearchParam]:
        common = [
            SearchParam("_id", "token", "Identifiant de la ressource.", to_q=self._id_q),
            SearchParam("_lastUpdated", "date", "Date de dernière modification.", field=self.last_updated_field),
        ]
        return common + list(self.search_params)

    def _id_q(self, system, code):
        import uuid

        from django.db.models import Q

        try:
            return Q(**{self.id_field: uuid.UUID(code)})
        except ValueError:
            return None


@cache
def resources() -> dict[str, Resource]:
    loaded = [import_string(path)() for path in settings.FHIR_RESOURCES]
    return {resource.type: resource for resource in loaded}


def resource_for(resource_type: str) -> Resource:
    resource = resources().get(resource_type)
    if resource is None:
        raise FhirError(
            f"Type de ressource non pris en charge : « {resource_type[:40]} ».",
            status=404,
            code="not-supported",
        )
    return resource


@cache
def authenticators() -> list:
    return [import_string(path) for path in settings.FHIR_AUTHENTICATORS]


def authenticate(request: HttpRequest) -> Client:
    """The client behind the bearer token: each authenticator returns its client for a token it recognises
    (or raises FhirError for one of its own that may not be used), None for a token that is not its own."""
    scheme, _, raw = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        raise FhirError("Jeton d’accès manquant.", status=401, code="login", reason="missing_token")
    for authenticator in authenticators():
        client = authenticator(request)
        if client is not None:
            return client
    raise FhirError("Jeton d’accès inconnu.", status=401, code="login", reason="unknown_token")
