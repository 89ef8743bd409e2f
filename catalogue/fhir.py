"""FHIR R4 JSON for the data-exchange API: what we send (to_*) and what we accept (parse_*).

Parsing is done by hand (fhir.resources validates the shapes in the tests only): a malformed body raises
FhirInputError with a French message, and nothing is written.
"""

import base64
import binascii
import datetime
import json
from decimal import Decimal, InvalidOperation

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from catalogue.services import MeasureInput
from dossier.enums import DocumentCategory

FHIR_JSON = "application/fhir+json"
CATEGORY_SYSTEM = "https://monespacesante.example/fhir/CodeSystem/document-category"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"

# LOINC code → (display, UCUM unit, plausible low, plausible high)
OBSERVATION_CODES = {
    "29463-7": ("Poids", "kg", Decimal("0.3"), Decimal("350")),
    "8302-2": ("Taille", "cm", Decimal("20"), Decimal("250")),
    "8310-5": ("Température", "Cel", Decimal("32"), Decimal("43")),
    "8867-4": ("Fréquence cardiaque", "/min", Decimal("25"), Decimal("250")),
    "55423-8": ("Nombre de pas", "{steps}", Decimal("0"), Decimal("100000")),
    "15074-8": ("Glycémie", "g/L", Decimal("0.2"), Decimal("6")),
}


class FhirInputError(Exception):
    """A body we cannot accept (400), with a French diagnostic."""


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


def to_observation(measure, patient) -> dict:
    display, _unit, _low, _high = OBSERVATION_CODES.get(measure.code, (measure.code, "", 0, 0))
    return {
        "resourceType": "Observation",
        "id": str(measure.public_id),
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "vital-signs",
                    }
                ]
            }
        ],
        "code": {"coding": [{"system": LOINC, "code": measure.code, "display": display}]},
        "subject": {"reference": f"Patient/{patient.public_id}"},
        "effectiveDateTime": _instant(measure.effective_at),
        "valueQuantity": {"value": float(measure.value), "unit": measure.unit, "system": UCUM, "code": measure.unit},
    }


def to_appointment(appointment, patient) -> dict:
    return {
        "resourceType": "Appointment",
        "id": str(appointment.public_id),
        "status": "cancelled" if appointment.cancelled else "booked",
        "description": appointment.description,
        "start": _instant(appointment.starts_at),
        "end": _instant(appointment.ends_at),
        "participant": [{"actor": {"reference": f"Patient/{patient.public_id}"}, "status": "accepted"}],
    }


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


# Accepted dates: a measure between 1900 and now (five minutes of clock skew allowed); an appointment within
# ten years either way, the window of the agenda itself (agenda.forms.YEARS_AROUND).
MEASURE_EARLIEST = datetime.datetime(1900, 1, 1, tzinfo=datetime.UTC)
CLOCK_SKEW = datetime.timedelta(minutes=5)
APPOINTMENT_YEARS_AROUND = 10


def _datetime(value, field: str) -> datetime.datetime:
    try:
        parsed = parse_datetime(value) if isinstance(value, str) else None
    except ValueError:  # well formed but impossible: 30 February, an offset of 99 hours
        parsed = None
    if parsed is None or timezone.is_naive(parsed):
        raise FhirInputError(f"« {field} » doit être une date et heure avec fuseau horaire (ISO 8601).")
    return parsed


def _within(value: datetime.datetime, field: str, earliest: datetime.datetime, latest: datetime.datetime) -> None:
    if not earliest <= value <= latest:
        raise FhirInputError(
            f"« {field} » doit être compris entre le {earliest:%d/%m/%Y} et le {latest:%d/%m/%Y} (heure UTC)."
        )


def appointment_window(now: datetime.datetime | None = None) -> tuple[datetime.datetime, datetime.datetime]:
    now = timezone.localtime(now or timezone.now(), datetime.UTC)
    years = datetime.timedelta(days=365 * APPOINTMENT_YEARS_AROUND + APPOINTMENT_YEARS_AROUND // 4)
    return now - years, now + years


def parse_observation(data: dict) -> MeasureInput:
    if data.get("status") not in ("final", "amended", "preliminary", "corrected"):
        raise FhirInputError("« status » doit valoir final, preliminary, amended ou corrected.")
    codings = (data.get("code") or {}).get("coding") if isinstance(data.get("code"), dict) else None
    if not isinstance(codings, list) or not codings or not isinstance(codings[0], dict):
        raise FhirInputError("« code.coding » est obligatoire.")
    coding = codings[0]
    if coding.get("system") != LOINC or coding.get("code") not in OBSERVATION_CODES:
        raise FhirInputError("Seuls les codes LOINC de mesures pris en charge sont acceptés.")
    _display, unit, low, high = OBSERVATION_CODES[coding["code"]]
    quantity = data.get("valueQuantity")
    if not isinstance(quantity, dict) or isinstance(quantity.get("value"), bool):
        raise FhirInputError("« valueQuantity » est obligatoire.")
    try:
        value = Decimal(str(quantity.get("value")))
    except InvalidOperation as error:
        raise FhirInputError("« valueQuantity.value » doit être un nombre.") from error
    if quantity.get("code", quantity.get("unit")) != unit:
        raise FhirInputError(f"L’unité attendue pour ce code est « {unit} ».")
    if not value.is_finite() or not low <= value <= high:
        raise FhirInputError("La valeur de la mesure n’est pas plausible.")
    effective = _datetime(data.get("effectiveDateTime"), "effectiveDateTime")
    if effective > timezone.now() + CLOCK_SKEW:
        raise FhirInputError("La date de la mesure ne peut pas être dans le futur.")
    if effective < MEASURE_EARLIEST:
        raise FhirInputError("La date de la mesure ne peut pas être antérieure au 01/01/1900.")
    return MeasureInput(code=coding["code"], value=value.quantize(Decimal("0.01")), unit=unit, effective_at=effective)


def parse_appointment(data: dict) -> dict:
    if data.get("status") not in ("booked", "proposed", "pending"):
        raise FhirInputError("« status » doit valoir booked, proposed ou pending.")
    description = data.get("description")
    if not isinstance(description, str) or not description.strip() or len(description) > 300:
        raise FhirInputError("« description » est obligatoire (300 caractères au plus).")
    starts_at = _datetime(data.get("start"), "start")
    ends_at = _datetime(data.get("end"), "end")
    earliest, latest = appointment_window()
    _within(starts_at, "start", earliest, latest)
    _within(ends_at, "end", earliest, latest)
    if ends_at <= starts_at:
        raise FhirInputError("« end » doit être postérieur à « start ».")
    participants = data.get("participant")
    if not isinstance(participants, list) or not participants:
        raise FhirInputError("« participant » est obligatoire.")
    references = [subject_reference(p, "actor") for p in participants if isinstance(p, dict)]
    return {
        "description": description.strip(),
        "starts_at": starts_at,
        "ends_at": ends_at,
        "references": [r for r in references if r],
    }


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
