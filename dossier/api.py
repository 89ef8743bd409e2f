"""FHIR DocumentReference and Binary: the record's documents, for the clients of the FHIR server.

Reads return the documents the access policy lets this client see (the categories the patient accepted for the
service, never a document masked from professionals or kept from representatives); writes go through the
catalogue's service for documents filed by a connected service (content checked like every upload).
"""

import base64
import binascii
import datetime

from django.db.models import Q
from django.http import HttpResponse
from django.utils import timezone

from dossier.enums import DocumentCategory
from espace_sante.access import policy
from espace_sante.fhir.errors import FhirInputError, refusals_as_outcomes
from espace_sante.fhir.http import fhir_response
from espace_sante.fhir.registry import Context, Resource
from espace_sante.fhir.search import SearchParam

CATEGORY_SYSTEM = "https://monespacesante.example/fhir/CodeSystem/document-category"


def instant(value: datetime.datetime) -> str:
    return timezone.localtime(value, datetime.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _category_q(system, code):
    if system not in (None, CATEGORY_SYSTEM) or code not in DocumentCategory.values:
        return None
    return Q(category=code)


def _own_patient(value: str):
    return Q()  # the authenticator refused any other patient: the client's own is every row here


class DocumentReferenceResource(Resource):
    type = "DocumentReference"
    documentation = "Documents du dossier médical que le patient a ouverts à ce service (catégories choisies)."
    interactions = ("read", "search-type", "create")
    search_params = (
        SearchParam("category", "token", f"Catégorie du document ({CATEGORY_SYSTEM}).", to_q=_category_q),
        SearchParam("date", "date", "Date d’ajout du document au dossier.", field="added_at"),
        SearchParam("period", "date", "Date des soins.", field="care_date"),
        SearchParam("patient", "reference", "Le patient du jeton (Patient/<id>).", to_q=_own_patient),
        SearchParam("subject", "reference", "Le patient du jeton (Patient/<id>).", to_q=_own_patient),
    )
    sort_fields = {"date": "added_at", "_lastUpdated": "added_at", "period": "care_date"}
    default_sort = "-date"
    last_updated_field = "added_at"

    def queryset(self, ctx: Context):
        return policy.service_documents_visible(ctx.client.connection).select_related("patient")

    def to_fhir(self, document, ctx: Context) -> dict:
        return {
            "resourceType": "DocumentReference",
            "id": str(document.public_id),
            "status": "current",
            "description": document.title,
            "category": [
                {
                    "coding": [
                        {
                            "system": CATEGORY_SYSTEM,
                            "code": document.category,
                            "display": DocumentCategory(document.category).label,
                        }
                    ]
                }
            ],
            "subject": {"reference": f"Patient/{document.patient.public_id}"},
            "date": instant(document.added_at),
            "author": [{"display": document.author_label or document.get_author_kind_display()}],
            "content": [
                {
                    "attachment": {
                        "contentType": document.content_type,
                        "url": ctx.url("Binary", str(document.public_id)),
                        "size": document.size,
                        "title": document.original_filename,
                        "creation": document.care_date.isoformat(),
                    }
                }
            ],
            "context": {"period": {"start": document.care_date.isoformat()}},
        }

    def create(self, data: dict, ctx: Context):
        from catalogue.services import NotAllowed, service_document_add

        subject = data.get("subject")
        ctx.require_own_patient(subject.get("reference") if isinstance(subject, dict) else None)
        parsed = parse_document_reference(data)
        with refusals_as_outcomes(business=(NotAllowed,)):
            return service_document_add(connection=ctx.client.connection, by=ctx.client.actor, **parsed)


def parse_document_reference(data: dict) -> dict:
    if data.get("status") != "current":
        raise FhirInputError("« status » doit valoir current.")
    title = data.get("description")
    if not isinstance(title, str) or not title.strip():
        raise FhirInputError("« description » (le titre du document) est obligatoire.", "required")
    try:
        category = data["category"][0]["coding"][0]["code"]
        attachment = data["content"][0]["attachment"]
        content = base64.b64decode(attachment["data"], validate=True)
        filename = attachment["title"]
    except (KeyError, IndexError, TypeError, binascii.Error) as error:
        raise FhirInputError(
            "« category[0].coding[0].code », « content[0].attachment.data » (base64) et « title » sont obligatoires.",
            "required",
        ) from error
    if category not in DocumentCategory.values:
        raise FhirInputError("Catégorie de document inconnue.", "code-invalid")
    if not isinstance(filename, str) or not filename:
        raise FhirInputError("« content[0].attachment.title » (le nom du fichier) est obligatoire.", "required")
    return {"title": title.strip(), "category": category, "content": content, "filename": filename}


class BinaryResource(Resource):
    type = "Binary"
    documentation = "Contenu d’un document (le fichier lui-même, ou en JSON FHIR si demandé par Accept)."
    interactions = ("read",)
    raw_content = True
    last_updated_field = "added_at"

    def queryset(self, ctx: Context):
        return policy.service_documents_visible(ctx.client.connection)

    def to_fhir(self, document, ctx: Context) -> dict:
        from dossier.services import document_content

        return {
            "resourceType": "Binary",
            "id": str(document.public_id),
            "contentType": document.content_type,
            "data": base64.b64encode(document_content(document)).decode("ascii"),
        }

    def read_response(self, document, ctx: Context) -> HttpResponse:
        from dossier.services import document_content

        accept = ctx.request.headers.get("Accept", "")
        if "fhir+json" in accept or ctx.request.GET.get("_format") in ("json", "application/fhir+json"):
            return fhir_response(self.resource(document, ctx))
        response = HttpResponse(document_content(document), content_type=document.content_type)
        response["Content-Disposition"] = "attachment"
        response["X-Content-Type-Options"] = "nosniff"
        return response
