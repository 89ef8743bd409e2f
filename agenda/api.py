"""FHIR Appointment: the agenda's appointments, for the clients of the FHIR server.

One truth: appointments are agenda's own (agenda.models.AgendaEntry). Reads return what the access policy lets
the client see; writes go through agenda.services.entry_add_from_service, so that an appointment a service sends
is in the agenda, its reminders and the .ics feed, named after the service.
"""

import dataclasses

from django.db.models import Q

from agenda import fhir
from agenda.enums import EntryStatus
from espace_sante.access import policy
from espace_sante.fhir.errors import refusals_as_outcomes
from espace_sante.fhir.registry import Context, Resource
from espace_sante.fhir.search import SearchParam


def _own_patient(value: str):
    return Q()  # the authenticator refused any other patient: every row here is the client's patient's


def _status_q(system, code):
    if code == "cancelled":
        return Q(status=EntryStatus.CANCELLED)
    if code == "booked":
        return ~Q(status=EntryStatus.CANCELLED)
    return None


class AppointmentResource(Resource):
    type = "Appointment"
    documentation = "Rendez-vous de l’agenda, ajoutés par le patient ou transmis par un service."
    interactions = ("read", "search-type", "create")
    search_params = (
        SearchParam("date", "date", "Date de début du rendez-vous.", field="starts_at"),
        SearchParam("status", "token", "booked ou cancelled.", to_q=_status_q),
        SearchParam("patient", "reference", "Le patient du jeton (Patient/<id>).", to_q=_own_patient),
        SearchParam("actor", "reference", "Le patient du jeton (Patient/<id>).", to_q=_own_patient),
    )
    sort_fields = {"date": "starts_at", "_lastUpdated": "updated_at"}
    default_sort = "date"

    def queryset(self, ctx: Context):
        return policy.service_appointments_visible(ctx.client.connection)

    def to_fhir(self, entry, ctx: Context) -> dict:
        return fhir.appointment_to_fhir(entry, patient_reference=ctx.patient_reference)

    def create(self, data: dict, ctx: Context):
        from agenda.services import DuplicateIdentifier, entry_add_from_service

        appointment = fhir.appointment_from_fhir(data, patient=ctx.client.patient)
        with refusals_as_outcomes(duplicate=(DuplicateIdentifier,)):
            return entry_add_from_service(
                patient=ctx.client.patient,
                service=ctx.client.connection.service,
                by=ctx.client.actor,
                **dataclasses.asdict(appointment),
            )
