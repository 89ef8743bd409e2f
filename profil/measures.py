"""What each measure is: unit, plausible range, precision. Pure functions used by the form and the service."""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError

from profil.enums import MeasureKind


@dataclass(frozen=True)
class MeasureSpec:
    unit: str
    low: Decimal
    high: Decimal
    decimals: int = 1
    children_only: bool = False


MEASURES: dict[str, MeasureSpec] = {
    MeasureKind.POIDS: MeasureSpec("kg", Decimal("0.3"), Decimal("350")),
    MeasureKind.TAILLE: MeasureSpec("cm", Decimal("20"), Decimal("250")),
    MeasureKind.TOUR_DE_TAILLE: MeasureSpec("cm", Decimal("30"), Decimal("250")),
    MeasureKind.TEMPERATURE: MeasureSpec("°C", Decimal("32"), Decimal("43")),
    MeasureKind.TENSION: MeasureSpec("mmHg", Decimal("60"), Decimal("260"), decimals=0),
    MeasureKind.FREQUENCE_CARDIAQUE: MeasureSpec("battements/min", Decimal("25"), Decimal("250"), decimals=0),
    MeasureKind.GLYCEMIE: MeasureSpec("g/L", Decimal("0.2"), Decimal("6"), decimals=2),
    MeasureKind.HBA1C: MeasureSpec("%", Decimal("3"), Decimal("20")),
    MeasureKind.DOULEUR: MeasureSpec("/10", Decimal("0"), Decimal("10"), decimals=0),
    MeasureKind.PAS: MeasureSpec("pas", Decimal("0"), Decimal("100000"), decimals=0),
    MeasureKind.PERIMETRE_CRANIEN: MeasureSpec("cm", Decimal("25"), Decimal("60"), children_only=True),
}
DIASTOLIC_RANGE = (Decimal("30"), Decimal("160"))
# A measure sent by a device whose clock runs a little fast is still taken (not "in the future").
CLOCK_SKEW = datetime.timedelta(minutes=5)


def _number(value: Decimal, decimals: int) -> str:
    text = f"{value:.{decimals}f}"
    return text.replace(".", ",")


def measure_check(kind: str, value: Decimal | None, value2: Decimal | None, *, is_minor: bool) -> None:
    """Raise a ValidationError keyed by field when the values are implausible for this measure."""
    spec = MEASURES[kind]
    label = MeasureKind(kind).label.lower()
    if spec.children_only and not is_minor:
        raise ValidationError({"kind": "Le périmètre crânien ne se suit que pour les enfants."})
    if value is None:
        raise ValidationError({"value": "Indiquez la valeur mesurée."})
    if not spec.low <= value <= spec.high:
        raise ValidationError(
            {
                "value": f"Cette valeur de {label} n’est pas plausible : elle doit être comprise entre "
                f"{_number(spec.low, spec.decimals)} et {_number(spec.high, spec.decimals)} {spec.unit}."
            }
        )
    if spec.decimals == 0 and value != value.to_integral_value():
        raise ValidationError({"value": "Indiquez un nombre entier."})
    if kind != MeasureKind.TENSION:
        if value2 is not None:
            raise ValidationError({"value2": "La valeur diastolique ne concerne que la tension artérielle."})
        return
    if value2 is None:
        raise ValidationError({"value2": "Indiquez la pression diastolique (le second chiffre)."})
    low, high = DIASTOLIC_RANGE
    if not low <= value2 <= high:
        raise ValidationError({"value2": f"La pression diastolique doit être comprise entre {low} et {high} mmHg."})
    if value2 >= value:
        raise ValidationError({"value2": "La pression diastolique doit être inférieure à la pression systolique."})


def measure_text(kind: str, value: Decimal, value2: Decimal | None) -> str:
    spec = MEASURES[kind]
    if kind == MeasureKind.TENSION:
        return f"{_number(value, 0)}/{_number(value2, 0)} {spec.unit}"
    return f"{_number(value, spec.decimals)} {spec.unit}"


def bmi(weight_kg: Decimal, height_cm: Decimal) -> Decimal:
    metres = height_cm / 100
    return (weight_kg / (metres * metres)).quantize(Decimal("0.1"))
