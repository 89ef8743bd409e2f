"""FHIR JSON responses and content negotiation."""

import json

from django.http import HttpRequest, HttpResponse

from espace_sante.fhir.errors import FhirError
from espace_sante.fhir.outcome import outcome

FHIR_JSON = "application/fhir+json"
JSON_TYPES = ("application/fhir+json", "application/json", "application/json+fhir", "*/*", "application/*")
JSON_FORMATS = ("json", "application/json", "application/fhir+json", "application/json+fhir")


def fhir_response(data: dict | None, *, status: int = 200, headers: dict | None = None) -> HttpResponse:
    body = b"" if data is None else json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    response = HttpResponse(body, status=status, content_type=f"{FHIR_JSON}; charset=utf-8")
    for key, value in (headers or {}).items():
        response[key] = value
    return response


def outcome_response(status: int, code: str, text: str, headers: dict | None = None) -> HttpResponse:
    headers = dict(headers or {})
    if status == 401:
        headers.setdefault("WWW-Authenticate", 'Bearer realm="api", error="invalid_token"')
    return fhir_response(outcome(code, text), status=status, headers=headers)


def negotiate(request: HttpRequest, *, raw: bool = False) -> None:
    """JSON only: `_format=xml` or an Accept header naming no JSON type is refused (406), never guessed;
    `raw` resources (Binary) also answer in their own content type."""
    wanted = request.GET.get("_format")
    if wanted is not None:
        if wanted not in JSON_FORMATS:
            raise FhirError("Seul le format JSON est pris en charge.", status=406, code="not-supported")
        return
    accept = request.headers.get("Accept", "").strip()
    if not accept or raw:
        return
    types = [part.split(";")[0].strip().lower() for part in accept.split(",")]
    if not any(kind in JSON_TYPES for kind in types):
        raise FhirError("Seul le format JSON est pris en charge.", status=406, code="not-supported")


def prefers_strict(request: HttpRequest) -> bool:
    """`Prefer: handling=strict` (FHIR search): unknown parameters are refused instead of ignored."""
    prefer = request.headers.get("Prefer", "")
    return any(part.strip().lower() == "handling=strict" for part in prefer.split(","))


def parse_body(request: HttpRequest, resource_type: str) -> dict:
    """The JSON resource of a create, checked for its type."""
    content_type = request.content_type or ""
    if content_type not in ("application/fhir+json", "application/json", "application/json+fhir"):
        raise FhirError("Envoyez la ressource en JSON (application/fhir+json).", status=415, code="not-supported")
    try:
        data = json.loads(request.body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise FhirError(
            "Le corps de la requête n’est pas un JSON valide.", code="structure", reason="invalid"
        ) from error
    if not isinstance(data, dict) or data.get("resourceType") != resource_type:
        raise FhirError(
            f"Le corps de la requête doit être une ressource {resource_type}.", code="structure", reason="invalid"
        )
    return data
