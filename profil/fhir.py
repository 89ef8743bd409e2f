"""Measures as FHIR R4 Observations: what a connected service sends (`observation_from_fhir`) and what it reads
back (`observation_to_fhir`). Pure conversion: no database, no access decision (the caller has the patient).

Codes: one LOINC code per measure kind on output; on input, any coding of system http://loinc.org with a code
below is taken and every other coding ignored (several known codes must name the same measure). Blood
pressure is the panel 85354-9 with the components 8480-6 (systolic) and 8462-4 (diastolic), in and out.

Units: UCUM, converted by pint through ucumvert (kg, g, [lb_av]; Cel, [degF], K; cm, m, [in_i]; mm[Hg], kPa…)
into the unit the measure is kept in (profil.measures.MEASURES). Glucose is kept in g/L: a mass code (2339-0
blood, 2345-7 serum or plasma) takes any mass concentration (g/L, mg/dL…); a molar code (15074-8 blood,
14749-6 serum or plasma) takes a substance concentration (mmol/L…), turned into g/L with the molar mass of
glucose, 180.156 g/mol. A unit of the other kind than its code is refused, never reinterpreted. Glucose is
read back as 2339-0 in g/L only: the code always matches the unit given, and the molar value, a rounding of
ours, is not offered as if it had been measured.

Out, the category is vital-signs, except glucose and HbA1c (laboratory), pain (survey) and steps (activity);
a service's measure names the service in `device.display` and `meta.source`. Counts and scores (steps, pain)
may also come in as valueInteger. Anything we cannot take raises FhirInputError
(French message): nothing is stored.
"""

import datetime
import functools
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from espace_sante.fhir.errors import FhirInputError, first_identifier
from profil.enums import MeasureKind
from profil.measures import CLOCK_SKEW, MEASURES, measure_check

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/observation-category"
GLUCOSE_MOLAR_MASS = Decimal("180.156")  # g/mol
MEASURE_EARLIEST = datetime.datetime(1900, 1, 1, tzinfo=datetime.UTC)
ACCEPTED_STATUSES = ("final", "amended", "corrected", "preliminary")
IDENTIFIER_MAX_LENGTH = 200

BP_PANEL = "85354-9"
BP_PANELS = (BP_PANEL, "55284-4")  # "Blood pressure panel…", "Blood pressure systolic and diastolic"
SYSTOLIC = "8480-6"
DIASTOLIC = "8462-4"
GLUCOSE_MASS_CODES = ("2339-0", "2345-7")
GLUCOSE_MOLAR_CODES = ("15074-8", "14749-6")


@dataclass(frozen=True)
class Code:
    kind: str
    display: str


# LOINC code → measure kind. The first code listed for a kind is the one we send.
CODES: dict[str, Code] = {
    "29463-7": Code(MeasureKind.POIDS, "Body weight"),
    "8302-2": Code(MeasureKind.TAILLE, "Body height"),
    "8280-0": Code(MeasureKind.TOUR_DE_TAILLE, "Waist Circumference at umbilicus by Tape measure"),
    "8310-5": Code(MeasureKind.TEMPERATURE, "Body temperature"),
    BP_PANEL: Code(MeasureKind.TENSION, "Blood pressure panel with all children optional"),
    "55284-4": Code(MeasureKind.TENSION, "Blood pressure systolic and diastolic"),
    "8867-4": Code(MeasureKind.FREQUENCE_CARDIAQUE, "Heart rate"),
    "2339-0": Code(MeasureKind.GLYCEMIE, "Glucose [Mass/volume] in Blood"),
    "2345-7": Code(MeasureKind.GLYCEMIE, "Glucose [Mass/volume] in Serum or Plasma"),
    "15074-8": Code(MeasureKind.GLYCEMIE, "Glucose [Moles/volume] in Blood"),
    "14749-6": Code(MeasureKind.GLYCEMIE, "Glucose [Moles/volume] in Serum or Plasma"),
    "4548-4": Code(MeasureKind.HBA1C, "Hemoglobin A1c/Hemoglobin.total in Blood"),
    "17856-6": Code(MeasureKind.HBA1C, "Hemoglobin A1c/Hemoglobin.total in Blood by HPLC"),
    "72514-3": Code(MeasureKind.DOULEUR, "Pain severity - 0-10 verbal numeric rating [Score] - Reported"),
    "55423-8": Code(MeasureKind.PAS, "Number of steps in unspecified time Pedometer"),
    "41950-7": Code(MeasureKind.PAS, "Number of steps in 24 hour Measured"),
    "9843-4": Code(MeasureKind.PERIMETRE_CRANIEN, "Head Occipital-frontal circumference"),
    "8287-5": Code(MeasureKind.PERIMETRE_CRANIEN, "Head Occipital-frontal circumference by Tape measure"),
}
OUTPUT_CODE = {kind: next(code for code, entry in CODES.items() if entry.kind == kind) for kind in MeasureKind.values}

# The UCUM unit each kind is kept in (the unit of profil.measures.MEASURES, spelt in UCUM).
UCUM_UNIT = {
    MeasureKind.POIDS: "kg",
    MeasureKind.TAILLE: "cm",
    MeasureKind.TOUR_DE_TAILLE: "cm",
    MeasureKind.TEMPERATURE: "Cel",
    MeasureKind.TENSION: "mm[Hg]",
    MeasureKind.FREQUENCE_CARDIAQUE: "/min",
    MeasureKind.GLYCEMIE: "g/L",
    MeasureKind.HBA1C: "%",
    MeasureKind.DOULEUR: "{score}",
    MeasureKind.PAS: "{steps}",
    MeasureKind.PERIMETRE_CRANIEN: "cm",
}
# Counts and scores carry no unit to convert: these spellings are taken as they are (absent unit included).
COUNT_UNITS = {
    MeasureKind.DOULEUR: {"", "1", "{score}", "{Score}"},
    MeasureKind.PAS: {"", "1", "{steps}", "{Steps}", "/d", "{steps}/d", "/(24.h)", "{steps}/(24.h)"},
    MeasureKind.HBA1C: {"%"},
}
# Category of each kind in http://terminology.hl7.org/CodeSystem/observation-category.
CATEGORY = {
    MeasureKind.GLYCEMIE: ("laboratory", "Laboratory"),
    MeasureKind.HBA1C: ("laboratory", "Laboratory"),
    MeasureKind.DOULEUR: ("survey", "Survey"),
    MeasureKind.PAS: ("activity", "Activity"),
}
VITAL_SIGNS = ("vital-signs", "Vital Signs")


@dataclass(frozen=True)
class MeasureInput:
    """What `profil.services.measure_add_from_service` takes (as keyword arguments, with `dataclasses.asdict`)."""

    kind: str
    value: Decimal
    value2: Decimal | None
    measured_at: datetime.datetime | None
    measured_on: datetime.date | None
    identifier: str


# --- Units ------------------------------------------------------------------------------------------------


@functools.cache
def _registry():
    """The UCUM-aware pint registry (about half a second to build: once per process, on first use)."""
    from ucumvert import PintUcumRegistry

    return PintUcumRegistry()


def _unit_errors() -> tuple[type[Exception], ...]:
    """What parsing or converting a unit may raise: a UCUM syntax error (lark), an unknown or incompatible
    unit (pint), an annotation alone such as {steps} (no pint unit behind it)."""
    from lark.exceptions import LarkError
    from pint.errors import PintError

    return (LarkError, PintError, AttributeError, ValueError, TypeError, ArithmeticError)


def _to_unit(value: Decimal, ucum: str, target: str, label: str):
    """`value` `ucum` expressed in `target` (both UCUM), as a Decimal; FhirInputError when it cannot be."""
    registry = _registry()
    try:
        source_unit = registry.from_ucum(ucum)
        target_unit = registry.from_ucum(target)
        quantity = registry.Quantity(float(value) * source_unit.magnitude, source_unit.units)
        converted = quantity.to(target_unit.units).magnitude / target_unit.magnitude
    except _unit_errors() as error:
        raise FhirInputError(
            f"L’unité « {ucum} » ne peut pas être convertie en {target} pour la mesure « {label} ».", code="value"
        ) from error
    return Decimal(repr(converted))


def _dimension_of(ucum: str) -> str:
    registry = _registry()
    try:
        return str(registry.from_ucum(ucum).dimensionality)
    except _unit_errors():
        return ""


def _rounded(kind: str, value: Decimal) -> Decimal:
    """Storage precision: whole numbers for the integer measures, hundredths otherwise."""
    step = Decimal("1") if MEASURES[kind].decimals == 0 else Decimal("0.01")
    return value.quantize(step, rounding=ROUND_HALF_UP)


# --- Input ------------------------------------------------------------------------------------------------


def _loinc_codes(concept, where: str) -> list[str]:
    """The known LOINC codes of a CodeableConcept (every other coding ignored)."""
    codings = concept.get("coding") if isinstance(concept, dict) else None
    if not isinstance(codings, list) or not codings:
        raise FhirInputError(f"« {where}.coding » est obligatoire.", code="required")
    return [
        c["code"]
        for c in codings
        if isinstance(c, dict) and c.get("system") == LOINC and isinstance(c.get("code"), str) and c["code"] in CODES
    ]


def _component_codes(concept, where: str) -> list[str]:
    codings = concept.get("coding") if isinstance(concept, dict) else None
    if not isinstance(codings, list):
        raise FhirInputError(f"« {where}.coding » est obligatoire.", code="required")
    return [c.get("code") for c in codings if isinstance(c, dict) and c.get("system") == LOINC]


def _kind(codes: list[str]) -> str:
    kinds = {CODES[code].kind for code in codes}
    if not kinds:
        raise FhirInputError(
            "Aucun code LOINC de mesure pris en charge dans « code.coding » (poids 29463-7, taille 8302-2, "
            "température 8310-5, tension 85354-9, fréquence cardiaque 8867-4, glycémie 2339-0 ou 15074-8…).",
            code="not-supported",
        )
    if len(kinds) > 1:
        raise FhirInputError("Les codes LOINC de « code.coding » désignent des mesures différentes.", code="invalid")
    return kinds.pop()


def _quantity(quantity, where: str) -> tuple[Decimal, str]:
    """(value, UCUM unit) of a Quantity; the unit is `code` (system UCUM), else the human `unit`."""
    if not isinstance(quantity, dict):
        raise FhirInputError(f"« {where} » est obligatoire.", code="required")
    raw = quantity.get("value")
    if isinstance(raw, bool) or not isinstance(raw, int | float | Decimal):
        raise FhirInputError(f"« {where}.value » doit être un nombre.", code="value")
    try:
        value = Decimal(str(raw))
    except InvalidOperation as error:
        raise FhirInputError(f"« {where}.value » doit être un nombre.", code="value") from error
    if not value.is_finite():
        raise FhirInputError(f"« {where}.value » doit être un nombre.", code="value")
    system = quantity.get("system")
    if "code" in quantity and system not in (None, UCUM):
        raise FhirInputError(f"« {where}.system » doit être {UCUM} (unités UCUM).", code="value")
    unit = quantity.get("code", quantity.get("unit", ""))
    if not isinstance(unit, str):
        raise FhirInputError(f"« {where}.code » doit être une unité UCUM.", code="value")
    return value, unit.strip()


def _convert(kind: str, codes: list[str], value: Decimal, unit: str) -> Decimal:
    label = MeasureKind(kind).label.lower()
    if kind in COUNT_UNITS:
        if unit not in COUNT_UNITS[kind]:
            raise FhirInputError(
                f"L’unité « {unit} » n’est pas acceptée pour la mesure « {label} » (attendue : {UCUM_UNIT[kind]}).",
                code="value",
            )
        return value
    if not unit:
        raise FhirInputError(f"L’unité (UCUM) de la mesure « {label} » est obligatoire.", code="required")
    if kind == MeasureKind.GLYCEMIE:
        return _glucose(codes, value, unit)
    return _to_unit(value, unit, UCUM_UNIT[kind], label)


def _glucose(codes: list[str], value: Decimal, unit: str) -> Decimal:
    molar = _dimension_of(unit) == _dimension_of("mmol/L")
    if molar:
        if not set(codes) & set(GLUCOSE_MOLAR_CODES):
            raise FhirInputError(
                f"L’unité « {unit} » est une concentration molaire : utilisez le code LOINC 15074-8 (sang) ou "
                "14749-6 (sérum ou plasma), ou une concentration massique (g/L, mg/dL) avec 2339-0 ou 2345-7.",
                code="value",
            )
        millimoles = _to_unit(value, unit, "mmol/L", "glycémie")
        return millimoles * GLUCOSE_MOLAR_MASS / 1000
    if not set(codes) & set(GLUCOSE_MASS_CODES):
        raise FhirInputError(
            f"Le code LOINC 15074-8 ou 14749-6 attend une concentration molaire (mmol/L), pas « {unit} » : "
            "pour des g/L ou des mg/dL, utilisez 2339-0 (sang) ou 2345-7 (sérum ou plasma).",
            code="value",
        )
    return _to_unit(value, unit, "g/L", "glycémie")


def _blood_pressure(data: dict) -> tuple[Decimal, Decimal]:
    components = data.get("component")
    if not isinstance(components, list):
        raise FhirInputError(
            "La tension artérielle s’envoie en panel 85354-9 avec les composants 8480-6 (systolique) et 8462-4 "
            "(diastolique).",
            code="required",
        )
    found: dict[str, Decimal] = {}
    for index, component in enumerate(components):
        if not isinstance(component, dict):
            continue
        where = f"component[{index}]"
        codes = _component_codes(component.get("code"), f"{where}.code")
        wanted = next((code for code in (SYSTOLIC, DIASTOLIC) if code in codes), None)
        if wanted is None:
            continue
        value, unit = _quantity(component.get("valueQuantity"), f"{where}.valueQuantity")
        if not unit:
            raise FhirInputError(f"L’unité de « {where}.valueQuantity » est obligatoire (mm[Hg]).", code="required")
        found[wanted] = _to_unit(value, unit, "mm[Hg]", "tension artérielle")
    if SYSTOLIC not in found or DIASTOLIC not in found:
        raise FhirInputError(
            "La tension artérielle demande les composants 8480-6 (systolique) et 8462-4 (diastolique).",
            code="required",
        )
    return found[SYSTOLIC], found[DIASTOLIC]


def _effective(data: dict) -> tuple[datetime.datetime | None, datetime.date]:
    raw = data.get("effectiveDateTime", data.get("effectiveInstant"))
    if not isinstance(raw, str):
        raise FhirInputError("« effectiveDateTime » (la date de la mesure) est obligatoire.", code="required")
    moment = day = None
    try:
        if len(raw) == len("AAAA-MM-JJ"):  # a date alone (parse_datetime would take it as naive midnight)
            day = parse_date(raw)
        else:
            moment = parse_datetime(raw)
    except ValueError:  # well formed but impossible: 30 February, an offset of 99 hours
        moment = day = None
    if moment is not None and timezone.is_naive(moment):
        moment = None
    if moment is None and day is None:
        raise FhirInputError(
            "« effectiveDateTime » doit être une date (AAAA-MM-JJ) ou une date et heure avec fuseau horaire.",
            code="value",
        )
    now = timezone.now()
    if moment is not None:
        if moment < MEASURE_EARLIEST:
            raise FhirInputError("La date de la mesure ne peut pas être antérieure au 01/01/1900.", code="value")
        if moment > now + CLOCK_SKEW:
            raise FhirInputError("La date de la mesure ne peut pas être dans le futur.", code="value")
        return moment, timezone.localdate(moment)
    if day < MEASURE_EARLIEST.date():
        raise FhirInputError("La date de la mesure ne peut pas être antérieure au 01/01/1900.", code="value")
    if day > timezone.localdate(now):
        raise FhirInputError("La date de la mesure ne peut pas être dans le futur.", code="value")
    return None, day


def _identifier(data: dict) -> str:
    return first_identifier(data, max_length=IDENTIFIER_MAX_LENGTH)


def _check_subject(data: dict, patient) -> None:
    subject = data.get("subject")
    if subject is None:
        return
    if not isinstance(subject, dict) or not isinstance(subject.get("reference"), str):
        raise FhirInputError("« subject » doit être une référence FHIR.", code="structure")
    if subject["reference"] != f"Patient/{patient.public_id}":
        raise FhirInputError("« subject » ne désigne pas le patient de ce jeton.", code="forbidden")


def _plausible(kind: str, value: Decimal, value2: Decimal | None, patient) -> None:
    try:
        measure_check(kind, value, value2, is_minor=patient.is_minor)
    except ValidationError as error:
        raise FhirInputError(" ".join(error.messages), code="value") from error


def observation_from_fhir(data: dict, *, patient) -> MeasureInput:
    """A FHIR R4 Observation (parsed JSON) for `patient` → the measure to store. FhirInputError otherwise.

    The value is converted into our unit, then checked like the patient's form (profil.measures.measure_check):
    an implausible value, a date in the future (beyond five minutes of clock skew) or before 1900 is refused.
    """
    if not isinstance(data, dict) or data.get("resourceType") != "Observation":
        raise FhirInputError("Une ressource FHIR Observation est attendue.", code="structure")
    if data.get("status") not in ACCEPTED_STATUSES:
        raise FhirInputError("« status » doit valoir final, preliminary, amended ou corrected.", code="value")
    _check_subject(data, patient)
    codes = _loinc_codes(data.get("code"), "code")
    kind = _kind(codes)
    if kind == MeasureKind.TENSION:
        systolic, diastolic = _blood_pressure(data)
        value, value2 = _rounded(kind, systolic), _rounded(kind, diastolic)
    elif kind in (MeasureKind.PAS, MeasureKind.DOULEUR) and "valueInteger" in data:  # a count, a score
        raw = data["valueInteger"]
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise FhirInputError("« valueInteger » doit être un nombre entier.", code="value")
        value, value2 = Decimal(raw), None
    else:
        raw, unit = _quantity(data.get("valueQuantity"), "valueQuantity")
        value, value2 = _rounded(kind, _convert(kind, codes, raw, unit)), None
    _plausible(kind, value, value2, patient)
    measured_at, measured_on = _effective(data)
    return MeasureInput(
        kind=kind,
        value=value,
        value2=value2,
        measured_at=measured_at,
        measured_on=measured_on,
        identifier=_identifier(data),
    )


# --- Output -----------------------------------------------------------------------------------------------


def _instant(value: datetime.datetime) -> str:
    return timezone.localtime(value, datetime.UTC).isoformat().replace("+00:00", "Z")


def _number(value: Decimal) -> int | float:
    """A JSON number without trailing zeros (FHIR decimals are numbers)."""
    normalized = value.normalize()
    return int(normalized) if normalized == normalized.to_integral_value() else float(normalized)


def _ucum_quantity(value: Decimal, unit: str, display: str) -> dict:
    return {"value": _number(value), "unit": display, "system": UCUM, "code": unit}


def _coding(code: str) -> dict:
    return {"system": LOINC, "code": code, "display": CODES[code].display}


COMPONENT_DISPLAY = {SYSTOLIC: "Systolic blood pressure", DIASTOLIC: "Diastolic blood pressure"}


def _component_coding(code: str) -> dict:
    return {"system": LOINC, "code": code, "display": COMPONENT_DISPLAY[code]}


def observation_to_fhir(measure, *, patient_reference: str) -> dict:
    """A measure as a FHIR R4 Observation (`patient_reference`: "Patient/<public id>").

    Blood pressure is a panel (85354-9) with its two components, other kinds a valueQuantity in UCUM. A
    measure a connected service sent names it in `device.display` and `meta.source` (urn:uuid of the service);
    the patient's own measures have the patient as performer. `identifier` is the one the service sent.
    """
    kind = measure.kind
    code = OUTPUT_CODE[kind]
    category, category_display = CATEGORY.get(kind, VITAL_SIGNS)
    meta = {"versionId": str(measure.version), "lastUpdated": _instant(measure.updated_at)}
    resource = {
        "resourceType": "Observation",
        "id": str(measure.public_id),
        "meta": meta,
        "status": "final",
        "category": [{"coding": [{"system": CATEGORY_SYSTEM, "code": category, "display": category_display}]}],
        "code": {"coding": [_coding(code)], "text": MeasureKind(kind).label},
        "subject": {"reference": patient_reference},
        "effectiveDateTime": _instant(measure.measured_at) if measure.measured_at else measure.measured_on.isoformat(),
    }
    if measure.source_id:
        meta["source"] = f"urn:uuid:{measure.source.public_id}"
        resource["device"] = {"display": measure.source.name}
        if measure.source_identifier:
            resource["identifier"] = [{"value": measure.source_identifier}]
    else:
        resource["performer"] = [{"reference": patient_reference}]
    unit = UCUM_UNIT[kind]
    display = MEASURES[kind].unit
    if kind == MeasureKind.TENSION:
        resource["component"] = [
            {"code": {"coding": [_component_coding(code)]}, "valueQuantity": _ucum_quantity(value, unit, display)}
            for code, value in ((SYSTOLIC, measure.value), (DIASTOLIC, measure.value2))
        ]
    else:
        resource["valueQuantity"] = _ucum_quantity(measure.value, unit, display)
    return resource
