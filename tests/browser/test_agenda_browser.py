"""The agenda in a real browser: a patient adds an appointment (after a French error), sees it in the month view
and on the dashboard, then a parent sees a child's appointment with the child's name."""

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from agenda.models import AgendaEntry
from tests.browser.test_login_browser import _patient_logs_in

pytestmark = pytest.mark.browser


def test_create_an_appointment_and_see_it_in_the_month_view(page: Page, browser_personas, mailoutbox):
    day = timezone.localdate() + datetime.timedelta(days=3)
    _patient_logs_in(page, "camille.lefevre", mailoutbox)
    page.get_by_role("link", name="Agenda").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mon agenda")
    page.get_by_role("link", name="Ajouter un rendez-vous").click()

    page.get_by_label("Professionnel ou service de santé").fill("Dr Paul Roux")
    page.get_by_label("Spécialité").fill("Cardiologie")
    page.get_by_label("Adresse").fill("5 allée Jean Jaurès, Toulouse")
    page.get_by_label("Date").fill(day.isoformat())
    page.get_by_label("Heure de début").fill("14:30")
    page.get_by_label("Heure de fin").fill("14:00")
    page.get_by_role("button", name="Enregistrer le rendez-vous").click()
    expect(page.get_by_text("L’heure de fin doit être après l’heure de début.")).to_be_visible()
    assert not AgendaEntry.objects.exists()

    page.get_by_label("Heure de fin").fill("15:00")
    page.get_by_role("button", name="Enregistrer le rendez-vous").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Rendez-vous : Dr Paul Roux (Cardiologie)")
    expect(page.get_by_text("Le rendez-vous a été ajouté.")).to_be_visible()

    page.goto(f"/agenda/mois/?mois={day:%Y-%m}")
    month = page.get_by_role("table")
    expect(month.get_by_role("link", name=re.compile(r"14h30 Rendez-vous : Dr Paul Roux"))).to_be_visible()
    expect(month.get_by_role("columnheader", name="Lundi")).to_be_visible()

    page.goto("/tableau-de-bord/")
    expect(page.get_by_text(re.compile(r"à 14h30 : Rendez-vous : Dr Paul Roux"))).to_be_visible()


def test_parent_sees_the_child_appointment_with_the_child_name(page: Page, browser_personas, mailoutbox):
    day = timezone.localdate() + datetime.timedelta(days=2)
    _patient_logs_in(page, "julien.moreau", mailoutbox)
    page.goto("/agenda/rendez-vous/ajouter/")
    page.get_by_label("Pour qui ?").select_option(label="Léo Moreau")
    page.get_by_label("Professionnel ou service de santé").fill("Dr Anne Martin")
    page.get_by_label("Date").fill(day.isoformat())
    page.get_by_label("Heure de début").fill("17:00")
    page.get_by_role("button", name="Enregistrer le rendez-vous").click()
    expect(page.get_by_text("Le rendez-vous a été ajouté.")).to_be_visible()
    page.goto(f"/agenda/mois/?mois={day:%Y-%m}")
    expect(page.get_by_role("link", name=re.compile(r"17h00 Léo – Rendez-vous : Dr Anne Martin"))).to_be_visible()
    page.goto("/agenda/")
    expect(page.get_by_role("cell", name="Léo Moreau")).to_be_visible()
