"""Agenda appointments as FHIR R4 Appointments: what a connected service sends (`appointment_from_fhir`) and
what it reads back (`appointment_to_fhir`). Pure conversion: no database, no access decision.

In: status booked, proposed or pending; start and end with a time zone, within the agenda's window (ten
years either way); a description (kept as the entry's note); the patient among the participants (no other
patient); the first other participant with a `display` (a practitioner, a location…) as the professional;
the first identifier's value, which the service may not send twice.

Out: status booked or cancelled; start and end (an appointment without an end time ends when it starts; an
all-day entry ends at the next midnight); the description (a service's own note; for the patient's entries
the professional and specialty, never the patient's private note); the patient and the professional as
accepted participants. Anything we cannot take raises FhirInputError (French message): nothing is stored.
"""

import datetime
from dataclasses import dataclass

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from agenda.enums import EntryStatus
from agenda.models import NOTE_MAX_LENGTH
from agenda.times import instant_window
from espace_sante.fhir.errors import FhirInputError, first_identifier

ACCEPTED_STATUSES = ("booked", "proposed", "pending")
IDENTIFIER_MAX_LENGTH = 200
PROFESSIONAL_MAX_LENGTH = 150


@dataclass(frozen=True)
class AppointmentInput:
    """What `agenda.services.entry_add_from_service` takes (as keyword arguments, with `dataclasses.asdict`)."""

    starts_at: datetime.datetime
    ends_at: datetime.datetime
    description: str
    professional_name: str
    identifier: str


def _instant(value: datetime.datetime) -> str:
    return timezone.localtime(value, datetime.UTC).isoformat().replace("+00:00", "Z")


def _datetime(value, field: str) -> datetime.datetime:
    try:
        parsed = parse_datetime(value) if isinstance(value, str) else None
    except ValueError:  # well formed but impossible: 30 February, an offset of 99 hours
        parsed = None
    if parsed is None or timezone.is_naive(parsed):
        raise FhirInputError(f"« {field} » doit être une date et heure avec fuseau horaire (ISO 8601).", code="value")
    return parsed


def _within(value: datetime.datetime, field: str, earliest: datetime.datetime, latest: datetime.datetime) -> None:
    if not earliest <= value <= latest:
        raise FhirInputError(
            f"« {field} » doit être compris entre le {earliest:%d/%m/%Y} et le {latest:%d/%m/%Y} (heure UTC).",
            code="value",
        )


def _identifier(data: dict) -> str:
    return first_identifier(data, max_length=IDENTIFIER_MAX_LENGTH)


def _participants(data: dict, patient) -> str:
    """Check that the participants name our patient (and no other); return the professional's display."""
    participants = data.get("participant")
    if not isinstance(participants, list) or not participants:
        raise FhirInputError("« participant » est obligatoire.", code="required")
    ours = f"Patient/{patient.public_id}"
    professional = ""
    for participant in participants:
        actor = participant.get("actor") if isinstance(participant, dict) else None
        if actor is None:
            continue
        if not isinstance(actor, dict):
            raise FhirInputError("« participant.actor » doit être une référence FHIR.", code="structure")
        reference = actor.get("reference")
        if reference is not None and not isinstance(reference, str):
            raise FhirInputError("« participant.actor.reference » doit être une chaîne.", code="structure")
        if reference and reference.startswith("Patient/"):
            if reference != ours:
                raise FhirInputError(
                    "« participant » désigne un autre patient que celui de ce jeton.", code="forbidden"
                )
            continue
        display = actor.get("display")
        if not professional and isinstance(display, str) and display.strip():
            professional = display.strip()[:PROFESSIONAL_MAX_LENGTH]
    return professional


def appointment_from_fhir(data: dict, *, patient) -> AppointmentInput:
    """A FHIR R4 Appointment (parsed JSON) for `patient` → the agenda entry to store. FhirInputError otherwise."""
    if not isinstance(data, dict) or data.get("resourceType") != "Appointment":
        raise FhirInputError("Une ressource FHIR Appointment est attendue.", code="structure")
    if data.get("status") not in ACCEPTED_STATUSES:
        raise FhirInputError("« status » doit valoir booked, proposed ou pending.", code="value")
    description = data.get("description")
    if not isinstance(description, str) or not description.strip() or len(description) > NOTE_MAX_LENGTH:
        raise FhirInputError(
            f"« description » est obligatoire ({NOTE_MAX_LENGTH} caractères au plus).", code="required"
        )
    starts_at = _datetime(data.get("start"), "start")
    ends_at = _datetime(data.get("end"), "end")
    earliest, latest = instant_window()
    _within(starts_at, "start", earliest, latest)
    _within(ends_at, "end", earliest, latest)
    if ends_at <= starts_at:
        raise FhirInputError("« end » doit être postérieur à « start ».", code="invariant")
    professional = _participants(data, patient)
    return AppointmentInput(
        starts_at=starts_at,
        ends_at=ends_at,
        description=description.strip(),
        professional_name=professional,
        identifier=_identifier(data),
    )


def appointment_to_fhir(entry, *, patient_reference: str) -> dict:
    """An agenda appointment as a FHIR R4 Appointment (`patient_reference`: "Patient/<public id>")."""
    end = entry.ends_at or entry.starts_at
    resource = {
        "resourceType": "Appointment",
        "id": str(entry.public_id),
        "meta": {"versionId": str(entry.version), "lastUpdated": _instant(entry.updated_at)},
        "status": "cancelled" if entry.status == EntryStatus.CANCELLED else "booked",
        "description": entry.note if entry.source_service_id and entry.note else entry.summary,
        "start": _instant(entry.starts_at),
        "end": _instant(end),
        "participant": [
            {"actor": {"reference": patient_reference}, "status": "accepted"},
            {"actor": {"display": entry.professional_name}, "status": "accepted"},
        ],
    }
    if entry.source_service_id:
        resource["meta"]["source"] = f"urn:uuid:{entry.source_service.public_id}"
        if entry.source_identifier:
            resource["identifier"] = [{"value": entry.source_identifier}]
    return resource
