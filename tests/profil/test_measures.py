"""Measures: plausible ranges, blood pressure, BMI, history and the server-side SVG charts."""

import datetime

import pytest
from django.urls import reverse

from profil.models import Measure

URL = "profil:measures"


def _add(client, kind, value, day="2026-01-10", value2=""):
    return client.post(reverse(URL), {"kind": kind, "value": value, "value2": value2, "measured_on": day})


@pytest.mark.parametrize("who", ["camille", "leo"])
def test_add_and_delete_a_measure(client, as_patient, who):
    patient = as_patient(who)
    assert _add(client, "poids", "62,5").status_code == 302
    measure = Measure.objects.get(patient=patient)
    assert str(measure.value) == "62.50"
    page = client.get(reverse(URL)).content.decode()
    assert "62,5 kg" in page
    assert client.post(reverse("profil:measure_delete", args=[measure.public_id])).status_code == 302
    assert not Measure.objects.filter(patient=patient).exists()


@pytest.mark.parametrize(
    ("kind", "value", "value2", "day", "message"),
    [
        ("poids", "0", "", "2026-01-10", "n’est pas plausible"),
        ("poids", "700", "", "2026-01-10", "n’est pas plausible"),
        ("temperature", "45", "", "2026-01-10", "n’est pas plausible"),
        ("tension", "120", "130", "2026-01-10", "inférieure à la pression systolique"),
        ("tension", "120", "", "2026-01-10", "Indiquez la pression diastolique"),
        ("poids", "60", "80", "2026-01-10", "ne concerne que la tension"),
        ("douleur", "4,5", "", "2026-01-10", "nombre entier"),
        ("poids", "60", "", "2099-01-01", "ne peut pas être dans le futur"),
        ("poids", "soixante", "", "2026-01-10", "Indiquez un nombre"),
        ("perimetre_cranien", "40", "", "2026-01-10", "que pour les enfants"),
    ],
)
def test_implausible_measures_are_refused(client, as_patient, kind, value, value2, day, message):
    patient = as_patient("camille")
    response = _add(client, kind, value, day, value2)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Measure.objects.filter(patient=patient).exists()


def test_head_circumference_for_a_child(client, as_patient):
    patient = as_patient("leo")
    assert _add(client, "perimetre_cranien", "46,5", "2017-06-21").status_code == 302
    assert Measure.objects.filter(patient=patient, kind="perimetre_cranien").exists()


def test_bmi_and_blood_pressure_chart_for_an_adult(client, as_patient):
    as_patient("camille")
    _add(client, "poids", "64")
    _add(client, "taille", "166")
    for month, (systolic, diastolic) in enumerate([("142", "91"), ("131", "84"), ("121", "78")], start=1):
        assert _add(client, "tension", systolic, f"2026-0{month}-05", diastolic).status_code == 302
    page = client.get(reverse(URL)).content.decode()
    assert "<strong>23,2</strong>" in page or "<strong>23.2</strong>" in page  # 64 / 1.66²
    assert '<svg class="profil-chart__svg"' in page
    assert '<title id="chart-tension-title">Tension artérielle : évolution</title>' in page
    assert "dernière valeur : 121/78 mmHg" in page
    assert "<td>142/91 mmHg</td>" in page  # the data table alternative
    assert "Systolique" in page and "Diastolique" in page
    assert "courbe de poids" not in page.lower()  # no growth curve for an adult
    assert 'points="' in page and ",5," not in page.split("<svg")[1].split("</svg>")[0]  # no decimal commas


def test_growth_curve_for_a_child(client, as_patient, personas):
    as_patient("leo")
    born = personas.leo.birth_date
    for months, weight in [(0, "3,4"), (6, "8"), (12, "9,9"), (24, "12,6")]:
        day = born + datetime.timedelta(days=round(months * 30.44))
        assert _add(client, "poids", weight, day.isoformat()).status_code == 302
    page = client.get(reverse(URL)).content.decode()
    assert "Courbe de poids de Léo (0 à 5 ans)" in page
    assert "comparées aux courbes de référence de l’OMS" in page
    assert "Références approximatives" in page
    assert "3e percentile" in page and "97e percentile" in page
    assert "entre le 3e et le 97e percentile" in page
