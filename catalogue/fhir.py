"""FHIR R4 JSON for the data-exchange API: what we send (to_*) and what we accept (parse_*) for documents;
measures are converted by profil.fhir, appointments by agenda.fhir.

Parsing is done by hand (fhir.resources validates the shapes in the tests only): a malformed body raises
FhirInputError with a French message, and nothing is written.
"""

import base64
import binascii
import datetime
import json

from django.utils import timezone

from dossier.enums import DocumentCategory
from espace_sante.fhir.errors import FhirInputError

FHIR_JSON = "application/fhir+json"
CATEGORY_SYSTEM = "https://monespacesante.example/fhir/CodeSystem/document-category"


def outcome(severity: str, code: str, text: str) -> dict:
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": severity, "code": code, "diagnostics": text}],
    }


def bundle(resources: list[dict], base: str) -> dict:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "entry": [
            {"fullUrl": f"{base}{r['resourceType']}/{r['id']}", "resource": r, "search": {"mode": "match"}}
            for r in resources
        ],
    }


def _instant(value: datetime.datetime) -> str:
    return timezone.localtime(value, datetime.UTC).isoformat().replace("+00:00", "Z")


def to_document_reference(document, base: str) -> dict:
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
        "date": _instant(document.added_at),
        "author": [{"display": document.author_label or document.get_author_kind_display()}],
        "content": [
            {
                "attachment": {
                    "contentType": document.content_type,
                    "url": f"{base}Binary/{document.public_id}",
                    "size": document.size,
                    "title": document.original_filename,
                    "creation": document.care_date.isoformat(),
                }
            }
        ],
    }


def to_binary(document, content: bytes) -> dict:
    return {
        "resourceType": "Binary",
        "id": str(document.public_id),
        "contentType": document.content_type,
        "data": base64.b64encode(content).decode("ascii"),
    }


# --- Input ------------------------------------------------------------------------------------------------


def load(body: bytes, resource_type: str) -> dict:
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise FhirInputError("Le corps de la requête n’est pas un JSON valide.") from error
    if not isinstance(data, dict) or data.get("resourceType") != resource_type:
        raise FhirInputError(f"Une ressource FHIR {resource_type} est attendue.")
    return data


def subject_reference(data: dict, key: str = "subject") -> str | None:
    subject = data.get(key)
    if subject is None:
        return None
    if not isinstance(subject, dict) or not isinstance(subject.get("reference"), str):
        raise FhirInputError(f"« {key} » doit être une référence FHIR.")
    return subject["reference"]


def parse_document_reference(data: dict) -> dict:
    if data.get("status") != "current":
        raise FhirInputError("« status » doit valoir current.")
    title = data.get("description")
    if not isinstance(title, str) or not title.strip():
        raise FhirInputError("« description » (le titre du document) est obligatoire.")
    try:
        category = data["category"][0]["coding"][0]["code"]
        attachment = data["content"][0]["attachment"]
        content = base64.b64decode(attachment["data"], validate=True)
        filename = attachment["title"]
    except (KeyError, IndexError, TypeError, binascii.Error) as error:
        raise FhirInputError(
            "« category[0].coding[0].code », « content[0].attachment.data » (base64) et « title » sont obligatoires."
        ) from error
    if category not in DocumentCategory.values:
        raise FhirInputError("Catégorie de document inconnue.")
    if not isinstance(filename, str) or not filename:
        raise FhirInputError("« content[0].attachment.title » (le nom du fichier) est obligatoire.")
    return {"title": title.strip(), "category": category, "content": content, "filename": filename}
