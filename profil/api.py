"""FHIR Observation: every measure of the medical profile, for the clients of the FHIR server.

One truth: the measures are profil's own (profil.models.Measure). Reads return what the access policy lets
the client see (for a connected service: all the patient's measures, whoever entered them, when the patient
accepted "read my measures"); writes go through profil.services.measure_add_from_service, so that a measure a
service sends shows up on the patient's pages, charts and synthesis, named after the service.
"""

import dataclasses

from django.db.models import DateTimeField, Q
from django.db.models.functions import Cast, Coalesce

from espace_sante.access import policy
from espace_sante.fhir.errors import refusals_as_outcomes
from espace_sante.fhir.registry import Context, Resource
from espace_sante.fhir.search import SearchParam
from profil import fhir
from profil.enums import MeasureKind


def _code_q(system, code):
    if system not in (None, fhir.LOINC) or code not in fhir.CODES:
        return None
    return Q(kind=fhir.CODES[code].kind)


def _category_q(system, code):
    if system not in (None, fhir.CATEGORY_SYSTEM):
        return None
    kinds = [kind for kind in MeasureKind.values if fhir.CATEGORY.get(kind, fhir.VITAL_SIGNS)[0] == code]
    return Q(kind__in=kinds) if kinds else None


def _own_patient(value: str):
    return Q()  # the authenticator refused any other patient: every row here is the client's patient's


class ObservationResource(Resource):
    type = "Observation"
    profile = "http://hl7.org/fhir/StructureDefinition/vitalsigns"
    documentation = (
        "Mesures du profil médical (poids, taille, tension en panel 85354-9, fréquence cardiaque, glycémie en g/L "
        "ou mmol/L, température…), saisies par le patient ou transmises par un service ; unités UCUM converties."
    )
    interactions = ("read", "search-type", "create")
    search_params = (
        SearchParam("code", "token", "Code LOINC de la mesure (http://loinc.org|29463-7).", to_q=_code_q),
        SearchParam(
            "category",
            "token",
            "Catégorie (http://terminology.hl7.org/CodeSystem/observation-category|vital-signs).",
            to_q=_category_q,
        ),
        SearchParam("date", "date", "Date de la mesure.", field="effective"),
        SearchParam("patient", "reference", "Le patient du jeton (Patient/<id>).", to_q=_own_patient),
        SearchParam("subject", "reference", "Le patient du jeton (Patient/<id>).", to_q=_own_patient),
    )
    sort_fields = {"date": "effective", "_lastUpdated": "updated_at"}
    default_sort = "-date"

    def queryset(self, ctx: Context):
        measures = policy.service_measures_visible(ctx.client.connection)
        # A measure entered by the patient has a day, one sent by a service an instant: one sortable key.
        return measures.annotate(effective=Coalesce("measured_at", Cast("measured_on", DateTimeField())))

    def to_fhir(self, measure, ctx: Context) -> dict:
        return fhir.observation_to_fhir(measure, patient_reference=ctx.patient_reference)

    def create(self, data: dict, ctx: Context):
        from profil.services import DuplicateIdentifier, measure_add_from_service

        subject = data.get("subject")
        ctx.require_own_patient(subject.get("reference") if isinstance(subject, dict) else None)
        measure = fhir.observation_from_fhir(data, patient=ctx.client.patient)
        with refusals_as_outcomes(duplicate=(DuplicateIdentifier,)):
            return measure_add_from_service(
                patient=ctx.client.patient,
                service=ctx.client.connection.service,
                by=ctx.client.actor,
                **dataclasses.asdict(measure),
            )
