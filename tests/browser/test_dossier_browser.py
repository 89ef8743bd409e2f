"""The medical record in a real browser: a patient uploads and hides a document; a professional logs in with
TOTP, finds the patient and sees what the rules allow; the patient then sees that access in the history."""

import re

import pytest
from playwright.sync_api import Page, expect

from dossier.models import Document
from tests.browser.test_login_browser import _fill_password_step, _patient_logs_in
from tests.conftest import totp_now

pytestmark = pytest.mark.browser
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _upload(page: Page, tmp_path, title: str) -> None:
    path = tmp_path / f"{title.replace(' ', '-')}.pdf"
    path.write_bytes(PDF)
    page.goto("/documents/ajouter/")
    page.get_by_label("Fichier").set_input_files(str(path))
    page.get_by_label("Titre").fill(title)
    page.get_by_label("Catégorie").select_option(label="Résultats de biologie")
    page.get_by_label("Date des soins").fill("2026-10-02")
    page.get_by_role("button", name="Ajouter", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(title)


def test_upload_hide_then_professional_access_traced(
    page: Page, browser, live_server, browser_personas, mailoutbox, tmp_path
):
    _patient_logs_in(page, "camille.lefevre", mailoutbox)
    _upload(page, tmp_path, "Bilan sanguin octobre")
    _upload(page, tmp_path, "Note personnelle")
    page.get_by_role("button", name="Masquer aux professionnels").click()
    expect(page.get_by_text("Ce document est masqué aux professionnels de santé")).to_be_visible()
    assert Document.objects.get(title="Note personnelle").hidden_from_professionals

    page.goto("/documents/")
    expect(page.get_by_role("link", name="Bilan sanguin octobre")).to_be_visible()
    expect(page.get_by_text("Masqué aux professionnels")).to_be_visible()

    # The pharmacist joins the care team with Camille's consent: biology yes, the hidden note no.
    pro_context = browser.new_context(base_url=live_server.url, locale="fr-FR")
    pro = pro_context.new_page()
    _fill_password_step(pro, "/pro/connexion/", "pharmacien.leroy")
    pro.get_by_label("Code de vérification").fill(totp_now(browser_personas.pharmacien_leroy.user))
    pro.get_by_role("button", name="Valider").click()
    expect(pro).to_have_url(re.compile(r"/pro/$"))
    pro.get_by_role("link", name="Rechercher un patient").first.click()
    pro.get_by_label("Numéro de sécurité sociale ou matricule INS").fill(browser_personas.camille.nir)
    pro.get_by_label("Date de naissance").fill("1985-03-14")
    pro.get_by_role("button", name="Rechercher").click()
    expect(pro.get_by_role("heading", level=1)).to_have_text("Vous n’avez pas encore accès à ce dossier")
    pro.locator("label[for=id_consent]").click()
    pro.get_by_role("button", name="Accéder au dossier").click()
    expect(pro.get_by_text("Dossier de Camille Marie Lefèvre")).to_be_visible()
    expect(pro.get_by_role("link", name="Bilan sanguin octobre")).to_be_visible()
    expect(pro.get_by_text("Note personnelle")).to_have_count(0)
    pro_context.close()

    page.goto("/documents/historique/")
    expect(page.get_by_role("cell", name="Paul Leroy, pharmacien").first).to_be_visible()
    expect(page.get_by_text("a recherché un patient")).to_be_visible()
    expect(page.get_by_text("a consulté le dossier médical")).to_be_visible()
    expect(page.get_by_text("a déclaré avoir recueilli votre consentement")).to_be_visible()
