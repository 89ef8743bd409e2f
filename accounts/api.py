"""FHIR Patient: the connected profile's identity, for the clients of the FHIR server (espace_sante/fhir/).

What a connected service needs to show whose data it holds, no more: names, birth date, administrative sex,
and whether the person died. Never the NIR/INS, the address, the e-mail or the phone: a referenced service gets
contact details from the patient, not from the national record.
"""

from django.db.models import Q

from accounts.enums import Sex
from espace_sante.access import policy
from espace_sante.fhir.registry import Context, Resource
from espace_sante.fhir.search import SearchParam

GENDER = {Sex.MALE: "male", Sex.FEMALE: "female"}


def _name_q(value: str):
    value = value.strip()
    if not value:
        return None
    return Q(birth_name__istartswith=value) | Q(used_name__istartswith=value) | Q(first_names__icontains=value)


class PatientResource(Resource):
    type = "Patient"
    documentation = "Le profil connecté lui-même (identité réduite : noms, date de naissance, sexe)."
    search_params = (
        SearchParam("name", "string", "Nom de naissance, nom d’usage ou prénom (début du mot).", to_q=_name_q),
        SearchParam("birthdate", "date", "Date de naissance.", field="birth_date"),
    )
    sort_fields = {"_lastUpdated": "updated_at"}
    version_field = None

    def queryset(self, ctx: Context):
        return policy.service_patient_visible(ctx.client.connection)

    def version(self, obj) -> str:
        # Patient rows carry no version counter: the modification instant stands for it (changes on every save).
        return str(int(obj.updated_at.timestamp() * 1000))

    def to_fhir(self, patient, ctx: Context) -> dict:
        names = [
            {
                "use": "official",
                "family": patient.birth_name,
                "given": patient.first_names.split(),
            }
        ]
        if patient.used_name and patient.used_name != patient.birth_name:
            names.append({"use": "usual", "family": patient.used_name, "given": patient.first_names.split()[:1]})
        data = {
            "resourceType": "Patient",
            "id": str(patient.public_id),
            "active": True,
            "name": names,
            "gender": GENDER.get(patient.sex, "unknown"),
            "birthDate": patient.birth_date.isoformat(),
        }
        if patient.deceased_on:
            data["deceasedDateTime"] = patient.deceased_on.isoformat()
        return data
