"""Confirming one's identity before a sensitive change, then changing one's contacts, in a real browser."""

import re

import pytest
from playwright.sync_api import Page, expect

from accounts.demo import DEMO_PASSWORD
from tests.browser.test_login_browser import _patient_logs_in

pytestmark = pytest.mark.browser


def _last_code(mailoutbox) -> str:
    return mailoutbox[-1].body.split("Mon espace santé : ")[1][:6]


def test_patient_confirms_identity_then_changes_email_and_phone(page: Page, browser_personas, mailoutbox):
    _patient_logs_in(page, "camille.lefevre", mailoutbox)
    page.goto("/parametres/")
    page.get_by_role("link", name="Modifier mes coordonnées").click()

    # Identity first: the password, then a new code by e-mail.
    expect(page).to_have_url(re.compile(r"/parametres/confirmer-identite/\?next=/parametres/coordonnees/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirmer mon identité")
    page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Continuer").click()
    expect(page.get_by_text("c•••@example.org")).to_be_visible()
    page.get_by_label("Code de vérification").fill(_last_code(mailoutbox))
    page.get_by_role("button", name="Confirmer").click()

    # Back on the page asked for.
    expect(page).to_have_url(re.compile(r"/parametres/coordonnees/$"))
    expect(page.get_by_label("Adresse e-mail")).to_have_value("camille.lefevre@example.org")
    page.get_by_label("Adresse e-mail").fill("camille.nouvelle@example.net")
    page.get_by_label("Téléphone mobile").fill("07 65 43 21 09")
    page.get_by_role("button", name="Enregistrer").click()

    expect(page).to_have_url(re.compile(r"/parametres/coordonnees/confirmer-e-mail/$"))
    assert mailoutbox[-1].to == ["camille.nouvelle@example.net"]
    page.get_by_label("Code de vérification").fill(_last_code(mailoutbox))
    page.get_by_role("button", name="Confirmer").click()

    expect(page).to_have_url(re.compile(r"/parametres/$"))
    expect(page.get_by_text("Votre nouvelle adresse e-mail est enregistrée.")).to_be_visible()
    expect(page.get_by_role("main")).to_contain_text("camille.nouvelle@example.net")
    expect(page.get_by_role("main")).to_contain_text("0765432109")
    # The old address was told, without the new one.
    notices = [mail for mail in mailoutbox if mail.to == ["camille.lefevre@example.org"] and "modifiées" in mail.body]
    assert notices and all("nouvelle@example.net" not in mail.body for mail in notices)
