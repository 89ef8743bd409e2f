"""/api/v1/: FHIR R4 endpoints for connected services, authenticated by OAuth 2.0 bearer tokens.

Every call is traced in the patient's access history under the service's name (role "system"), and a
refused call too whenever the token tells which patient it concerns. Errors are FHIR OperationOutcomes:
401 (no, unknown, expired or revoked token; ended connection), 403 (scope not consented, suspended
service, another patient), 404 (missing or out of scope), 400 (malformed FHIR), 409 (an identifier the
service already sent), 429 (rate limit).
"""

import hashlib
import time
from dataclasses import asdict, dataclass
from functools import wraps
from uuid import UUID

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from oauth2_provider.models import get_access_token_model

from agenda.fhir import appointment_from_fhir, appointment_to_fhir
from agenda.services import DuplicateIdentifier as AgendaDuplicate
from agenda.services import entry_add_from_service
from catalogue import fhir, services
from catalogue.actor import ServiceActor
from catalogue.enums import ConnectionStatus, Scope, ServiceStatus
from catalogue.models import Connection
from catalogue.oauth import CONNECTION_PREFIX
from espace_sante.access import policy
from espace_sante.audit.actions import Action
from espace_sante.audit.log import record
from espace_sante.fhir.errors import FhirInputError
from profil.fhir import observation_from_fhir, observation_to_fhir
from profil.services import DuplicateIdentifier as ProfilDuplicate
from profil.services import measure_add_from_service

DEFAULT_RATE_PER_MINUTE = 120


@dataclass
class ApiCall:
    connection: Connection
    actor: ServiceActor
    token_id: int

    @property
    def patient(self):
        return self.connection.patient


class Refused(Exception):
    def __init__(self, status: int, code: str, text: str, *, reason: str, headers: dict | None = None) -> None:
        super().__init__(text)
        self.status, self.code, self.text, self.reason, self.headers = status, code, text, reason, headers or {}


def _outcome(status: int, code: str, text: str, headers: dict | None = None) -> JsonResponse:
    response = JsonResponse(fhir.outcome("error", code, text), status=status, content_type=fhir.FHIR_JSON)
    for key, value in (headers or {}).items():
        response[key] = value
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="api", error="invalid_token"'
    return response


def _json(data: dict, status: int = 200) -> JsonResponse:
    return JsonResponse(data, status=status, content_type=fhir.FHIR_JSON, json_dumps_params={"ensure_ascii": False})


def _base(request: HttpRequest) -> str:
    return request.build_absolute_uri("/api/v1/")


def _authenticate(request: HttpRequest) -> ApiCall:
    """The connection behind the bearer token, or Refused (traced by the caller)."""
    header = request.headers.get("Authorization", "")
    scheme, _, raw = header.partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        raise Refused(401, "login", "Jeton d’accès manquant.", reason="missing_token")
    checksum = hashlib.sha256(raw.strip().encode("utf-8")).hexdigest()
    token = get_access_token_model().objects.select_related("application").filter(token_checksum=checksum).first()
    if token is None or token.application is None:
        raise Refused(401, "login", "Jeton d’accès inconnu.", reason="unknown_token")
    tags = [scope[len(CONNECTION_PREFIX) :] for scope in token.scope.split() if scope.startswith(CONNECTION_PREFIX)]
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
        raise Refused(401, "login", "Ce jeton n’est rattaché à aucun service connecté.", reason="unknown_connection")
    call = ApiCall(connection=connection, actor=ServiceActor.for_service(connection.service), token_id=token.pk)
    request.catalogue_call = call  # for the refusal trace
    if token.is_expired():
        raise Refused(401, "expired", "Jeton d’accès expiré ou révoqué.", reason="expired_token")
    if connection.status == ConnectionStatus.DISCONNECTED:
        raise Refused(401, "expired", "Le patient a déconnecté ce service.", reason="disconnected")
    _rate_limit(token.pk)
    if connection.service.status != ServiceStatus.ONLINE:
        raise Refused(403, "suspended", "Ce service n’est plus autorisé à échanger des données.", reason="suspended")
    if connection.status != ConnectionStatus.ACTIVE or connection.needs_reapproval:
        raise Refused(403, "forbidden", "Le patient doit confirmer cette connexion.", reason="reapproval")
    return call


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
        raise Refused(
            429,
            "throttled",
            "Trop de requêtes : réessayez dans une minute.",
            reason="rate_limited",
            headers={"Retry-After": str(retry)},
        )


def _require_scope(call: ApiCall, scope: str, request: HttpRequest) -> None:
    token = get_access_token_model().objects.get(pk=call.token_id)
    if scope not in token.scope.split() or not policy.can_service_use(call.connection, scope):
        raise Refused(
            403,
            "forbidden",
            "Le patient n’a pas autorisé ce service pour cette opération.",
            reason="scope",
        )
    wanted = request.GET.get("patient") or request.GET.get("subject", "").removeprefix("Patient/")
    if wanted and wanted != str(call.patient.public_id):
        raise Refused(403, "forbidden", "Ce jeton ne concerne pas ce patient.", reason="foreign_patient")


def _check_subject(call: ApiCall, reference: str | None) -> None:
    if reference is not None and reference != f"Patient/{call.patient.public_id}":
        raise Refused(403, "forbidden", "Ce jeton ne concerne pas ce patient.", reason="foreign_patient")


def endpoint(*, read: str, write: str | None = None):
    """Bearer-token view: GET needs `read`, POST needs `write`; refusals answered and traced."""

    def decorator(view):
        @csrf_exempt  # bearer tokens, no cookies: nothing to forge across sites
        @login_not_required
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            allowed = ["GET"] + (["POST"] if write else [])
            if request.method not in allowed:
                response = _outcome(405, "not-supported", "Méthode non prise en charge.")
                response["Allow"] = ", ".join(allowed)
                return response
            try:
                call = _authenticate(request)
                _require_scope(call, read if request.method == "GET" else write, request)
                return view(request, call, *args, **kwargs)
            except Refused as refusal:
                call = getattr(request, "catalogue_call", None)
                services.api_refusal_record(
                    by=call.actor if call else None,
                    patient=call.patient if call else None,
                    reason=refusal.reason,
                    method=request.method,
                    path=request.path[:200],
                )
                return _outcome(refusal.status, refusal.code, refusal.text, refusal.headers)
            except FhirInputError as error:
                duplicate = error.code == "duplicate"
                services.api_refusal_record(
                    by=call.actor,
                    patient=call.patient,
                    reason="duplicate" if duplicate else "invalid",
                    method=request.method,
                    path=request.path,
                )
                return _outcome(409 if duplicate else 400, error.code, str(error))
            except Http404:
                services.api_refusal_record(
                    by=call.actor, patient=call.patient, reason="not_found", method=request.method, path=request.path
                )
                return _outcome(404, "not-found", "Ressource introuvable.")

        return wrapped

    return decorator


def _patient_reference(call: ApiCall) -> str:
    return f"Patient/{call.patient.public_id}"


def _read_record(call: ApiCall, resource: str, *, target=None, count: int | None = None) -> None:
    data = {"resource": resource}
    if count is not None:
        data["count"] = count
    record(Action.SERVICE_API_READ, actor=call.actor, patient=call.patient, target=target, **data)


# --- Observation (measures) ------------------------------------------------------------------------------


@endpoint(read=Scope.MEASURES_READ, write=Scope.MEASURES_WRITE)
def observations(request: HttpRequest, call: ApiCall) -> HttpResponse:
    if request.method == "POST":
        data = fhir.load(request.body, "Observation")
        _check_subject(call, fhir.subject_reference(data))
        parsed = observation_from_fhir(data, patient=call.patient)
        try:
            measure = measure_add_from_service(
                patient=call.patient, service=call.connection.service, by=call.actor, **asdict(parsed)
            )
        except ProfilDuplicate as error:
            raise FhirInputError(str(error), code="duplicate") from error
        except ValidationError as error:
            raise FhirInputError(" ".join(error.messages), code="value") from error
        response = _json(observation_to_fhir(measure, patient_reference=_patient_reference(call)), status=201)
        response["Location"] = f"{_base(request)}Observation/{measure.public_id}"
        return response
    items = list(policy.service_measures_visible(call.connection)[:100])
    _read_record(call, "Observation", count=len(items))
    reference = _patient_reference(call)
    return _json(fhir.bundle([observation_to_fhir(m, patient_reference=reference) for m in items], _base(request)))


@endpoint(read=Scope.MEASURES_READ)
def observation(request: HttpRequest, call: ApiCall, public_id) -> HttpResponse:
    measure = policy.service_measures_visible(call.connection).filter(public_id=public_id).first()
    if measure is None:
        raise Http404
    _read_record(call, "Observation", target=measure)
    return _json(observation_to_fhir(measure, patient_reference=_patient_reference(call)))


# --- Appointment (agenda) --------------------------------------------------------------------------------


@endpoint(read=Scope.AGENDA_READ, write=Scope.AGENDA_WRITE)
def appointments(request: HttpRequest, call: ApiCall) -> HttpResponse:
    if request.method == "POST":
        data = fhir.load(request.body, "Appointment")
        participants = data.get("participant") if isinstance(data.get("participant"), list) else []
        for participant in participants:
            actor = participant.get("actor") if isinstance(participant, dict) else None
            reference = actor.get("reference") if isinstance(actor, dict) else None
            if isinstance(reference, str) and reference.startswith("Patient/"):
                _check_subject(call, reference)
        parsed = appointment_from_fhir(data, patient=call.patient)
        try:
            entry = entry_add_from_service(
                patient=call.patient, service=call.connection.service, by=call.actor, **asdict(parsed)
            )
        except AgendaDuplicate as error:
            raise FhirInputError(str(error), code="duplicate") from error
        except ValidationError as error:
            raise FhirInputError(" ".join(error.messages), code="value") from error
        response = _json(appointment_to_fhir(entry, patient_reference=_patient_reference(call)), status=201)
        response["Location"] = f"{_base(request)}Appointment/{entry.public_id}"
        return response
    items = list(policy.service_appointments_visible(call.connection)[:100])
    _read_record(call, "Appointment", count=len(items))
    reference = _patient_reference(call)
    return _json(fhir.bundle([appointment_to_fhir(a, patient_reference=reference) for a in items], _base(request)))


@endpoint(read=Scope.AGENDA_READ)
def appointment(request: HttpRequest, call: ApiCall, public_id) -> HttpResponse:
    item = policy.service_appointments_visible(call.connection).filter(public_id=public_id).first()
    if item is None:
        raise Http404
    _read_record(call, "Appointment", target=item)
    return _json(appointment_to_fhir(item, patient_reference=_patient_reference(call)))


# --- DocumentReference and Binary (documents) ------------------------------------------------------------


@endpoint(read=Scope.DOCUMENTS_READ, write=Scope.DOCUMENTS_WRITE)
def document_references(request: HttpRequest, call: ApiCall) -> HttpResponse:
    if request.method == "POST":
        data = fhir.load(request.body, "DocumentReference")
        _check_subject(call, fhir.subject_reference(data))
        parsed = fhir.parse_document_reference(data)
        try:
            document = services.service_document_add(connection=call.connection, by=call.actor, **parsed)
        except ValidationError as error:
            raise fhir.FhirInputError(" ".join(error.messages)) from error
        except services.NotAllowed as error:
            raise fhir.FhirInputError(str(error)) from error
        response = _json(fhir.to_document_reference(document, _base(request)), status=201)
        response["Location"] = f"{_base(request)}DocumentReference/{document.public_id}"
        return response
    documents = policy.service_documents_visible(call.connection).select_related("patient")
    category = request.GET.get("category")
    if category:
        documents = documents.filter(category=category)
    items = list(documents[:100])
    _read_record(call, "DocumentReference", count=len(items))
    return _json(fhir.bundle([fhir.to_document_reference(d, _base(request)) for d in items], _base(request)))


@endpoint(read=Scope.DOCUMENTS_READ)
def document_reference(request: HttpRequest, call: ApiCall, public_id) -> HttpResponse:
    document = policy.service_document_for(call.connection, public_id)
    _read_record(call, "DocumentReference", target=document)
    return _json(fhir.to_document_reference(document, _base(request)))


@endpoint(read=Scope.DOCUMENTS_READ)
def binary(request: HttpRequest, call: ApiCall, public_id) -> HttpResponse:
    from dossier.services import document_content

    document = policy.service_document_for(call.connection, public_id)
    content = document_content(document)
    _read_record(call, "Binary", target=document)
    if fhir.FHIR_JSON in request.headers.get("Accept", ""):
        return _json(fhir.to_binary(document, content))
    response = HttpResponse(content, content_type=document.content_type)
    response["Content-Disposition"] = "attachment"
    response["X-Content-Type-Options"] = "nosniff"
    return response
