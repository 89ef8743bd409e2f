"""Server-side charts: the geometry is computed here, the SVG markup is a template (profil/_chart.html), so every
value is escaped by Django. Each chart has a title, a description and a data table as a text alternative.

Growth reference: weight-for-age of the WHO Child Growth Standards (2006), 0–5 years, 3rd, 50th and 97th
percentiles, read from the WHO tables (https://www.who.int/tools/child-growth-standards/standards/weight-for-age)
at a few ages and rounded to 0.1 kg; the curve between two ages is a straight line. APPROXIMATE VALUES, shown
as such to the user: enough to place a child's measures, not a diagnostic tool (the carnet de santé's AFPA/
CRESS-Inserm 2018 curves are the French reference).
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from profil.enums import MeasureKind
from profil.measures import MEASURES, measure_text

# months → (P3, P50, P97) in kg, WHO weight-for-age, approximate
WHO_WEIGHT_FOR_AGE = {
    "M": {
        0: (2.5, 3.3, 4.3),
        3: (5.1, 6.4, 7.9),
        6: (6.4, 7.9, 9.7),
        9: (7.2, 8.9, 10.9),
        12: (7.8, 9.6, 11.8),
        18: (8.9, 10.9, 13.5),
        24: (9.8, 12.2, 15.1),
        36: (11.4, 14.3, 18.0),
        48: (12.9, 16.3, 20.9),
        60: (14.3, 18.3, 23.8),
    },
    "F": {
        0: (2.4, 3.2, 4.2),
        3: (4.6, 5.8, 7.3),
        6: (5.8, 7.3, 9.1),
        9: (6.6, 8.2, 10.3),
        12: (7.1, 8.9, 11.1),
        18: (8.2, 10.2, 12.9),
        24: (9.2, 11.5, 14.6),
        36: (11.0, 13.9, 17.8),
        48: (12.5, 16.1, 21.0),
        60: (13.9, 18.2, 24.1),
    },
}
PERCENTILES = ("3e percentile", "médiane", "97e percentile")
GROWTH_MAX_MONTHS = 60

WIDTH, HEIGHT = 640, 320
LEFT, RIGHT, TOP, BOTTOM = 56, 44, 28, 40


@dataclass
class Series:
    label: str
    css: str  # a class of static/css/profil.css (colour, dash)
    points: list[tuple[float, float]]
    markers: bool = True
    tips: list[str] = field(default_factory=list)  # one per point: the dot's tooltip (SVG <title>)
    svg_points: str = ""
    dots: list[tuple[float, float, str]] = field(default_factory=list)


@dataclass
class Chart:
    slug: str
    title: str
    desc: str
    x_label: str
    y_label: str
    series: list[Series]
    headers: list[str]
    rows: list[list[str]]
    x_ticks: list[tuple[float, str]] = field(default_factory=list)
    y_ticks: list[tuple[float, str]] = field(default_factory=list)
    width: int = WIDTH
    height: int = HEIGHT
    plot: tuple[int, int, int, int] = (LEFT, TOP, WIDTH - RIGHT, HEIGHT - BOTTOM)
    note: str = ""

    @property
    def y_text_x(self) -> int:
        return self.plot[0] - 6

    @property
    def x_text_y(self) -> int:
        return self.plot[3] + 18


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    step = (high - low) / count
    return [low + i * step for i in range(count + 1)]


def _layout(chart: Chart, *, x_fmt, y_fmt, x_range=None, y_range=None) -> Chart:
    xs = [x for s in chart.series for x, _ in s.points]
    ys = [y for s in chart.series for _, y in s.points]
    x0, x1 = x_range or (min(xs), max(xs))
    y0, y1 = y_range or (min(ys), max(ys))
    if x1 == x0:
        x0, x1 = x0 - 1, x1 + 1
    pad = (y1 - y0) * 0.1 or 1
    y0, y1 = (y0, y1) if y_range else (y0 - pad, y1 + pad)
    left, top, right, bottom = chart.plot

    def px(x: float) -> float:
        return round(left + (x - x0) / (x1 - x0) * (right - left), 1)

    def py(y: float) -> float:
        return round(bottom - (y - y0) / (y1 - y0) * (bottom - top), 1)

    for s in chart.series:
        coords = [(px(x), py(y)) for x, y in s.points]
        s.svg_points = " ".join(f"{a},{b}" for a, b in coords)
        tips = s.tips + [""] * (len(coords) - len(s.tips))
        s.dots = [(a, b, tip) for (a, b), tip in zip(coords, tips, strict=True)] if s.markers else []
    chart.x_ticks = [(px(x), x_fmt(x)) for x in _ticks(x0, x1, min(5, max(1, len(set(xs)) - 1)))]
    y_values = _ticks(y0, y1)
    decimals = 0 if (y1 - y0) / 5 >= 2 else 1
    chart.y_ticks = [(py(y), y_fmt(y) if y_fmt else f"{y:.{decimals}f}".replace(".", ",")) for y in y_values]
    return chart


def _date_label(ordinal: float) -> str:
    return datetime.date.fromordinal(round(ordinal)).strftime("%d/%m/%Y")


def measure_chart(kind: str, measures) -> Chart | None:
    """A time chart of one measure (two lines for blood pressure), oldest first. None below two points."""
    measures = sorted(
        (m for m in measures if m.kind == kind), key=lambda m: (m.measured_on, m.measured_at or m.created_at)
    )
    if len(measures) < 2:
        return None
    spec = MEASURES[kind]
    label = MeasureKind(kind).label
    series = [Series(label if kind != MeasureKind.TENSION else "Systolique", "chart-line--a", [])]
    if kind == MeasureKind.TENSION:
        series.append(Series("Diastolique", "chart-line--b", []))
    for m in measures:
        tip = _tip(m)
        series[0].points.append((m.measured_on.toordinal(), float(m.value)))
        series[0].tips.append(tip)
        if m.value2 is not None:
            series[1].points.append((m.measured_on.toordinal(), float(m.value2)))
            series[1].tips.append(tip)
    first, last = measures[0], measures[-1]
    chart = Chart(
        slug=kind,
        title=f"{label} : évolution",
        desc=(
            f"{len(measures)} mesures du {first.measured_on:%d/%m/%Y} au {last.measured_on:%d/%m/%Y} ; "
            f"dernière valeur : {measure_text(kind, last.value, last.value2)}."
        ),
        x_label="Date",
        y_label=spec.unit,
        series=series,
        headers=["Date", label],
        rows=[[f"{m.measured_on:%d/%m/%Y}", _value_with_source(m)] for m in measures],
    )
    return _layout(chart, x_fmt=_date_label, y_fmt=None)


def _value_with_source(measure) -> str:
    """ "72,4 kg", or "72,4 kg (ajouté par Tensio Suivi)" for a measure a connected service sent."""
    text = measure_text(measure.kind, measure.value, measure.value2)
    return f"{text} ({measure.source_label})" if measure.source_id else text


def _tip(measure) -> str:
    return f"{measure.measured_on:%d/%m/%Y} : {_value_with_source(measure)}"


def _months(birth: datetime.date, day: datetime.date) -> float:
    return (day - birth).days / 30.4375


def reference_at(sex: str, months: float) -> tuple[float, float, float]:
    """The three percentiles at `months`, by linear interpolation in the table."""
    table = WHO_WEIGHT_FOR_AGE["F" if sex == "F" else "M"]
    ages = sorted(table)
    for low, high in zip(ages, ages[1:], strict=False):
        if low <= months <= high:
            t = (months - low) / (high - low)
            return tuple(round(a + t * (b - a), 1) for a, b in zip(table[low], table[high], strict=True))
    return table[ages[-1]]


def growth_chart(patient, measures) -> Chart | None:
    """The child's weights against the WHO weight-for-age percentiles (0–5 years). None without a weight then."""
    weights = sorted(
        (m for m in measures if m.kind == MeasureKind.POIDS and 0 <= _months(patient.birth_date, m.measured_on) <= 60),
        key=lambda m: m.measured_on,
    )
    if not weights:
        return None
    table = WHO_WEIGHT_FOR_AGE["F" if patient.sex == "F" else "M"]
    series = [
        Series(name, f"chart-ref chart-ref--{i}", [(age, values[i]) for age, values in sorted(table.items())], False)
        for i, name in enumerate(PERCENTILES)
    ]
    child = [(round(_months(patient.birth_date, m.measured_on), 1), float(m.value)) for m in weights]
    series.append(Series(f"Poids de {patient.first_name}", "chart-line--a", child, tips=[_tip(m) for m in weights]))
    rows = []
    for m, (age, _) in zip(weights, child, strict=True):
        p3, p50, p97 = reference_at(patient.sex, age)
        rows.append([f"{m.measured_on:%d/%m/%Y}", f"{age:.0f} mois", _value_with_source(m)])
        rows[-1] += [f"{v:.1f} kg".replace(".", ",") for v in (p3, p50, p97)]
    last_p3, _, last_p97 = reference_at(patient.sex, child[-1][0])
    position = "entre le 3e et le 97e percentile" if last_p3 <= child[-1][1] <= last_p97 else "hors de la zone 3e–97e"
    chart = Chart(
        slug="croissance",
        title=f"Courbe de poids de {patient.first_name} (0 à 5 ans)",
        desc=(
            f"{len(weights)} pesées de {patient.first_name} comparées aux courbes de référence de l’OMS "
            f"(3e percentile, médiane, 97e percentile). Dernière pesée de la période : {position}."
        ),
        x_label="Âge (mois)",
        y_label="kg",
        series=series,
        headers=["Date", "Âge", "Poids", *[p.capitalize() for p in PERCENTILES]],
        rows=rows,
        note=(
            "Références approximatives (poids pour l’âge, standards de croissance de l’OMS, 2006), "
            "à titre indicatif : parlez-en avec le médecin de votre enfant."
        ),
    )
    return _layout(chart, x_fmt=lambda x: f"{x:.0f}", y_fmt=lambda y: f"{y:.0f}", x_range=(0, 60), y_range=(0, 26))


def latest_by_kind(measures) -> list[dict]:
    """The newest value of each measure (measures are given newest first), in the enum's order."""
    latest = {}
    for m in measures:
        latest.setdefault(m.kind, m)
    rows = []
    for kind in MeasureKind.values:
        if kind in latest:
            m = latest[kind]
            rows.append(
                {
                    "kind": kind,
                    "label": MeasureKind(kind).label,
                    "text": measure_text(kind, m.value, m.value2),
                    "date": m.measured_on,
                    "source": m.source.name if m.source_id else "",
                }
            )
    return rows


def body_mass_index(measures) -> Decimal | None:
    from profil.measures import bmi

    weight = next((m for m in measures if m.kind == MeasureKind.POIDS), None)
    height = next((m for m in measures if m.kind == MeasureKind.TAILLE), None)
    if weight is None or height is None:
        return None
    return bmi(weight.value, height.value)
