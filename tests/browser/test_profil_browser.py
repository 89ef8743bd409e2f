"""The health profile in a real browser: a patient adds an allergy and blood pressure measures, then sees the
chart; a parent acting for his child adds a weight and sees the growth curve."""

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_login_browser import _patient_logs_in

pytestmark = pytest.mark.browser


def _add_measure(page: Page, kind: str, value: str, day: str, diastolic: str = "", *, saved: bool = True) -> None:
    page.locator("#id_kind").select_option(label=kind)
    page.locator("#id_value").fill(value)
    page.locator("#id_value2").fill(diastolic)
    page.locator("#id_measured_on").fill(day)
    page.get_by_role("button", name="Enregistrer la mesure").click()
    if saved:
        expect(page.get_by_text("La mesure a été enregistrée.")).to_be_visible()


def test_patient_adds_an_allergy_and_sees_the_blood_pressure_chart(page: Page, browser_personas, mailoutbox):
    _patient_logs_in(page, "camille.lefevre", mailoutbox)
    page.goto("/profil-medical/allergies/")
    page.get_by_role("link", name="Ajouter une allergie").click()
    page.get_by_label("Allergie (substance, aliment, médicament…)").fill("<b>Pénicilline</b>")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_role("heading", name="<b>Pénicilline</b>")).to_be_visible()

    page.goto("/profil-medical/mesures/")
    _add_measure(page, "Tension artérielle", "120", "2026-01-05", "130", saved=False)
    expect(page.get_by_text("inférieure à la pression systolique")).to_be_visible()
    _add_measure(page, "Tension artérielle", "142", "2026-01-05", "91")
    _add_measure(page, "Tension artérielle", "128", "2026-02-05", "82")
    chart = page.get_by_role("img", name="Tension artérielle : évolution")
    expect(chart).to_be_visible()
    page.get_by_text("Voir les données sous forme de tableau").click()
    expect(page.get_by_role("cell", name="142/91 mmHg").first).to_be_visible()


def test_parent_sees_the_growth_curve_of_his_child(page: Page, browser_personas, mailoutbox):
    _patient_logs_in(page, "julien.moreau", mailoutbox)
    page.goto("/profil-medical/")
    page.get_by_label("Changer de profil").select_option(label="Léo Moreau")
    page.get_by_role("button", name="Afficher ce profil").click()
    page.goto("/profil-medical/mesures/")
    _add_measure(page, "Poids", "3,4", "2016-06-21")
    _add_measure(page, "Poids", "9,8", "2017-06-21")
    expect(page.get_by_role("img", name="Courbe de poids de Léo (0 à 5 ans)")).to_be_visible()
