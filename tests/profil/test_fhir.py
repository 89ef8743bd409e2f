"""profil.fhir: Observations in and out, without the API: codes, several codings, the blood pressure panel,
UCUM conversions (pint + ucumvert), glucose mass and molar codes, refusals. Shapes checked with fhir.resources."""

import datetime
import uuid
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.utils import timezone
from fhir.resources.R4B.observation import Observation

from espace_sante.fhir.errors import FhirInputError
from profil.fhir import observation_from_fhir, observation_to_fhir

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
ADULT = SimpleNamespace(public_id=uuid.uuid4(), is_minor=False)


def observation(code, value=None, unit=None, *, codings=None, components=None, when=None, **extra) -> dict:
    data = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": codings or [{"system": LOINC, "code": code}]},
        "subject": {"reference": f"Patient/{ADULT.public_id}"},
        "effectiveDateTime": when or (timezone.now() - datetime.timedelta(hours=1)).isoformat(),
        **extra,
    }
    if value is not None:
        data["valueQuantity"] = {"value": value, "system": UCUM, "code": unit}
    if components is not None:
        data["component"] = components
    return data


def component(code, value, unit="mm[Hg]") -> dict:
    return {"code": {"coding": [{"system": LOINC, "code": code}]}, "valueQuantity": {"value": value, "code": unit}}


def stored(parsed, **fields):
    """A Measure-like object as the service would store it."""
    now = timezone.now()
    values = {
        "public_id": uuid.uuid4(),
        "kind": parsed.kind,
        "value": parsed.value,
        "value2": parsed.value2,
        "measured_at": parsed.measured_at,
        "measured_on": parsed.measured_on,
        "source_id": None,
        "source": None,
        "source_identifier": parsed.identifier,
        "updated_at": now,
        "version": 1,
    }
    values.update(fields)
    return SimpleNamespace(**values)


@pytest.mark.parametrize(
    ("code", "value", "unit", "kind", "expected"),
    [
        ("29463-7", 72.4, "kg", "poids", Decimal("72.40")),
        ("29463-7", 72400, "g", "poids", Decimal("72.40")),
        ("29463-7", 150, "[lb_av]", "poids", Decimal("68.04")),
        ("8310-5", 98.6, "[degF]", "temperature", Decimal("37.00")),
        ("8310-5", 310.15, "K", "temperature", Decimal("37.00")),
        ("8302-2", 1.75, "m", "taille", Decimal("175.00")),
        ("8302-2", 69, "[in_i]", "taille", Decimal("175.26")),
        ("8867-4", 72, "/min", "frequence_cardiaque", Decimal("72")),
        ("2339-0", 1.05, "g/L", "glycemie", Decimal("1.05")),
        ("2345-7", 126, "mg/dL", "glycemie", Decimal("1.26")),
        ("15074-8", 7, "mmol/L", "glycemie", Decimal("1.26")),  # 7 mmol/L × 180.156 g/mol = 1.261 g/L
        ("14749-6", 5.5, "mmol/L", "glycemie", Decimal("0.99")),
        ("55423-8", 8042, "{steps}", "pas", Decimal("8042")),
        ("8280-0", 82, "cm", "tour_de_taille", Decimal("82.00")),
    ],
)
def test_units_are_converted_into_ours(code, value, unit, kind, expected):
    parsed = observation_from_fhir(observation(code, value, unit), patient=ADULT)
    assert parsed.kind == kind
    assert parsed.value == expected and parsed.value2 is None


def test_a_molar_glucose_is_converted_and_read_back_under_the_mass_code():
    parsed = observation_from_fhir(observation("15074-8", 7, "mmol/L"), patient=ADULT)
    out = observation_to_fhir(stored(parsed), patient_reference=f"Patient/{ADULT.public_id}")
    Observation.model_validate(out)
    assert [c["code"] for c in out["code"]["coding"]] == ["2339-0"]
    assert out["valueQuantity"] == {"value": 1.26, "unit": "g/L", "system": UCUM, "code": "g/L"}
    assert out["category"][0]["coding"][0]["code"] == "laboratory"


@pytest.mark.parametrize(
    ("code", "value", "unit", "message"),
    [
        ("2339-0", 7, "mmol/L", "concentration molaire"),  # a molar value under a mass code: never forced
        ("15074-8", 1.26, "g/L", "concentration molaire (mmol/L)"),  # and the other way round
        ("29463-7", 72, "cm", "ne peut pas être convertie"),
        ("29463-7", 72, "lb", "ne peut pas être convertie"),  # not UCUM ([lb_av] is)
        ("8310-5", 37, "[degF]/2", "ne peut pas être convertie"),
        ("29463-7", 900, "kg", "n’est pas plausible"),
        ("29463-7", 900, "[lb_av]", "n’est pas plausible"),  # 408 kg once converted
        ("8310-5", 113, "[degF]", "n’est pas plausible"),  # 45 °C
        ("55423-8", 100, "kg", "n’est pas acceptée"),
    ],
)
def test_inconvertible_or_implausible_values_are_refused(code, value, unit, message):
    with pytest.raises(FhirInputError) as error:
        observation_from_fhir(observation(code, value, unit), patient=ADULT)
    assert message in error.value.message
    assert error.value.code == "value"


def test_any_loinc_coding_with_a_known_code_wins_and_others_are_ignored():
    codings = [
        {"system": "http://snomed.info/sct", "code": "27113001"},
        {"system": "urn:oid:1.2.250.1.213.1.1.5.1", "code": "poids"},
        {"system": LOINC, "code": "3141-9"},  # a LOINC code we do not take: ignored
        {"system": LOINC, "code": "29463-7"},
    ]
    parsed = observation_from_fhir(observation(None, 64, "kg", codings=codings), patient=ADULT)
    assert parsed.kind == "poids"
    contradictory = [{"system": LOINC, "code": "29463-7"}, {"system": LOINC, "code": "8302-2"}]
    with pytest.raises(FhirInputError, match="mesures différentes"):
        observation_from_fhir(observation(None, 64, "kg", codings=contradictory), patient=ADULT)
    with pytest.raises(FhirInputError, match="Aucun code LOINC"):
        observation_from_fhir(observation(None, 64, "kg", codings=codings[:3]), patient=ADULT)


def test_blood_pressure_panel_round_trip():
    data = observation(
        "85354-9",
        components=[component("8480-6", 128), component("8462-4", 82)],
        identifier=[{"system": "https://tensio.example/mesures", "value": "bp-42"}],
    )
    parsed = observation_from_fhir(data, patient=ADULT)
    assert (parsed.kind, parsed.value, parsed.value2, parsed.identifier) == ("tension", 128, 82, "bp-42")
    service = SimpleNamespace(public_id=uuid.uuid4(), name="Tensio Suivi")
    out = observation_to_fhir(
        stored(parsed, source_id=1, source=service), patient_reference=f"Patient/{ADULT.public_id}"
    )
    Observation.model_validate(out)
    assert out["code"]["coding"][0]["code"] == "85354-9" and "valueQuantity" not in out
    assert [(c["code"]["coding"][0]["code"], c["valueQuantity"]["value"]) for c in out["component"]] == [
        ("8480-6", 128),
        ("8462-4", 82),
    ]
    assert {c["valueQuantity"]["code"] for c in out["component"]} == {"mm[Hg]"}
    assert out["identifier"] == [{"value": "bp-42"}]
    assert out["device"] == {"display": "Tensio Suivi"}
    assert out["meta"]["source"] == f"urn:uuid:{service.public_id}" and out["meta"]["versionId"] == "1"
    assert out["category"][0]["coding"][0] == {
        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
        "code": "vital-signs",
        "display": "Vital Signs",
    }
    # What we send is what we accept.
    again = observation_from_fhir(out, patient=ADULT)
    assert (again.kind, again.value, again.value2) == ("tension", 128, 82)


def test_blood_pressure_in_kilopascals_and_incomplete_panels():
    data = observation("85354-9", components=[component("8480-6", 16, "kPa"), component("8462-4", 10.7, "kPa")])
    parsed = observation_from_fhir(data, patient=ADULT)
    assert (parsed.value, parsed.value2) == (120, 80)
    with pytest.raises(FhirInputError, match="8462-4"):
        observation_from_fhir(observation("85354-9", components=[component("8480-6", 120)]), patient=ADULT)
    with pytest.raises(FhirInputError, match="inférieure à la pression systolique"):
        observation_from_fhir(
            observation("85354-9", components=[component("8480-6", 80), component("8462-4", 120)]), patient=ADULT
        )


def test_dates_future_and_too_old_are_refused_a_date_alone_is_taken():
    future = (timezone.now() + datetime.timedelta(hours=1)).isoformat()
    with pytest.raises(FhirInputError, match="futur"):
        observation_from_fhir(observation("29463-7", 64, "kg", when=future), patient=ADULT)
    skewed = (timezone.now() + datetime.timedelta(minutes=2)).isoformat()
    assert observation_from_fhir(observation("29463-7", 64, "kg", when=skewed), patient=ADULT).measured_at
    with pytest.raises(FhirInputError, match="1900"):
        observation_from_fhir(observation("29463-7", 64, "kg", when="1850-01-01T10:00:00+01:00"), patient=ADULT)
    with pytest.raises(FhirInputError, match="fuseau"):
        observation_from_fhir(observation("29463-7", 64, "kg", when="2026-01-01T10:00:00"), patient=ADULT)
    parsed = observation_from_fhir(observation("29463-7", 64, "kg", when="2026-01-10"), patient=ADULT)
    assert parsed.measured_at is None and parsed.measured_on == datetime.date(2026, 1, 10)
    out = observation_to_fhir(stored(parsed), patient_reference="Patient/x")
    assert out["effectiveDateTime"] == "2026-01-10"


def test_the_patients_own_measure_has_the_patient_as_performer():
    parsed = observation_from_fhir(observation("8867-4", 64, "/min"), patient=ADULT)
    reference = f"Patient/{ADULT.public_id}"
    out = observation_to_fhir(stored(parsed, version=3), patient_reference=reference)
    Observation.model_validate(out)
    assert out["performer"] == [{"reference": reference}] and "device" not in out and "identifier" not in out
    assert out["meta"]["versionId"] == "3" and out["meta"]["lastUpdated"].endswith("Z")
    assert out["valueQuantity"]["code"] == "/min"


def test_another_patient_and_bad_shapes_are_refused():
    other = observation("29463-7", 64, "kg", subject={"reference": f"Patient/{uuid.uuid4()}"})
    with pytest.raises(FhirInputError) as error:
        observation_from_fhir(other, patient=ADULT)
    assert error.value.code == "forbidden"
    for broken in (
        {**observation("29463-7", 64, "kg"), "status": "entered-in-error"},
        {**observation("29463-7", 64, "kg"), "valueQuantity": {"value": True, "code": "kg"}},
        {**observation("29463-7", 64, "kg"), "valueQuantity": {"value": "64", "code": "kg"}},
        {**observation("29463-7", 64, "kg"), "valueQuantity": {"value": 64, "system": "urn:x", "code": "kg"}},
        {**observation("29463-7", 64, "kg"), "code": {}},
        observation("29463-7"),
    ):
        with pytest.raises(FhirInputError):
            observation_from_fhir(broken, patient=ADULT)


def test_steps_and_pain_may_come_as_integers():
    data = observation("41950-7", valueInteger=10234)
    parsed = observation_from_fhir(data, patient=ADULT)
    assert (parsed.kind, parsed.value) == ("pas", 10234)
    out = observation_to_fhir(stored(parsed), patient_reference="Patient/x")
    Observation.model_validate(out)
    assert out["code"]["coding"][0]["code"] == "55423-8" and out["valueQuantity"]["code"] == "{steps}"
    with pytest.raises(FhirInputError, match="n’est pas plausible"):
        observation_from_fhir(observation("72514-3", valueInteger=11), patient=ADULT)
    with pytest.raises(FhirInputError, match="entier"):
        observation_from_fhir(observation("72514-3", valueInteger=4.5), patient=ADULT)
