"""The two-step logins, in a real browser: what a patient, a professional and a parent click and type."""

import re

import pytest
from playwright.sync_api import Page, expect

from accounts.demo import DEMO_PASSWORD
from tests.conftest import totp_now

pytestmark = pytest.mark.browser

DASHBOARD_TILES = ["Documents", "Profil médical", "Messagerie", "Agenda", "Catalogue de services", "Paramètres"]


def _emailed_code(mailoutbox) -> str:
    assert mailoutbox, "no login code was e-mailed"
    return mailoutbox[-1].body.split("connexion à Mon espace santé : ")[1][:6]


def _fill_password_step(page: Page, url: str, username: str) -> None:
    page.goto(url)
    page.get_by_label("Identifiant").fill(username)
    page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Continuer").click()
    expect(page.get_by_role("heading", level=1, name="Vérification en deux étapes")).to_be_visible()


def _patient_logs_in(page: Page, username: str, mailoutbox) -> None:
    _fill_password_step(page, "/connexion/", username)
    expect(page).to_have_url(re.compile(r"/connexion/verification/$"))
    page.get_by_label("Code de vérification").fill(_emailed_code(mailoutbox))
    page.get_by_role("button", name="Valider").click()
    expect(page).to_have_url(re.compile(r"/tableau-de-bord/$"))


def test_patient_logs_in_with_password_then_emailed_code(page: Page, browser_personas, mailoutbox):
    _fill_password_step(page, "/connexion/", "camille.lefevre")
    expect(page.get_by_text("c•••@example.org")).to_be_visible()
    assert [mail.to for mail in mailoutbox] == [["camille.lefevre@example.org"]]

    page.get_by_label("Code de vérification").fill(_emailed_code(mailoutbox))
    page.get_by_role("button", name="Valider").click()

    expect(page).to_have_url(re.compile(r"/tableau-de-bord/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Bonjour Camille")
    for tile in DASHBOARD_TILES:
        expect(page.locator(".fr-tile").get_by_role("link", name=tile, exact=True)).to_be_visible()
    expect(page).to_have_title("Tableau de bord — Mon espace santé")


def test_professional_logs_in_with_authenticator_code(page: Page, browser_personas):
    _fill_password_step(page, "/pro/connexion/", "dr.martin")
    expect(page.get_by_text("application d’authentification")).to_be_visible()

    page.get_by_label("Code de vérification").fill(totp_now(browser_personas.dr_martin.user))
    page.get_by_role("button", name="Valider").click()

    expect(page).to_have_url(re.compile(r"/pro/$"))
    expect(page.get_by_role("main")).to_contain_text("10003456786")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Anne Martin")


def test_parent_switches_to_his_sons_profile(page: Page, browser_personas, mailoutbox):
    _patient_logs_in(page, "julien.moreau", mailoutbox)
    switcher = page.locator(".profile-switcher")
    expect(switcher).to_contain_text("Vous agissez pour le profil de Julien Moreau")

    page.get_by_label("Changer de profil").select_option(label="Léo Moreau")
    page.get_by_role("button", name="Afficher ce profil").click()

    expect(switcher).to_contain_text("Vous agissez pour le profil de Léo Moreau")
    expect(page.get_by_role("heading", level=1)).to_have_text("Bonjour Julien")  # the person logged in
    expect(page.get_by_role("main")).to_contain_text("sur le profil de Léo Moreau")
    expect(page.get_by_label("Changer de profil")).to_have_value(str(browser_personas.leo.public_id))
