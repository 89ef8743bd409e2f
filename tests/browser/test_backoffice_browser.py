"""The agents' admin in a real browser: a CPAM agent with TOTP finds a person, records a phone opposition,
downloads the receipt and sends a new code; a France services agent is refused a closure."""

import io
import re
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from accounts.demo import DEMO_PASSWORD
from activation.enums import CodeChannel
from activation.models import HealthSpace
from activation.services.enrolment import code_issue
from tests.activation.conftest import SERIAL
from tests.conftest import totp_now

pytestmark = pytest.mark.browser


def _agent_logs_in(page: Page, user) -> None:
    page.goto("/admin/")
    page.get_by_label("Identifiant").fill(user.username)
    page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    page.get_by_label("Code de l’application d’authentification").fill(totp_now(user))
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_text("Accueil des conseillers")).to_be_visible()


def test_cpam_agent_phone_opposition_receipt_and_new_code(page: Page, browser_personas, mailoutbox):
    from activation import codes

    emma = browser_personas.emma
    HealthSpace.objects.filter(patient=emma).update(informed_at=timezone.now())
    _, code = code_issue(patient=emma, channel=CodeChannel.LETTER)
    holder = browser_personas.julien
    holder.vitale_serial = SERIAL
    holder.save(update_fields=["vitale_serial"])

    _agent_logs_in(page, browser_personas.agent_cpam.user)
    page.goto("/admin/accounts/patient/")
    page.locator("#searchbar").fill("Moreau 09/06/2020")
    page.locator("#searchbar").press("Enter")
    page.get_by_role("link", name="Moreau").first.click()
    expect(page.get_by_text("informé (délai d’opposition en cours)", exact=True)).to_be_visible()

    page.get_by_role("link", name="Opposition par téléphone").click()
    page.get_by_label("Code provisoire lu par la personne").fill(codes.display(code))
    page.get_by_label("Numéro de sécurité sociale").fill(holder.nir)
    page.get_by_label("Modèle de carte Vitale").select_option("avec_photo")
    page.get_by_label("Numéro de série de la carte Vitale").fill(SERIAL)
    page.get_by_role("button", name="Enregistrer l’opposition").click()
    expect(page.get_by_text(re.compile(r"Opposition enregistrée, référence MES-O-"))).to_be_visible()

    with page.expect_download() as download:
        page.get_by_role("link", name="justificatif (PDF)").click()
    content = Path(download.value.path()).read_bytes()
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(content)).pages)
    assert "Emma Louise Moreau" in text and "Julien Pierre Moreau" in text

    page.get_by_role("link", name="Envoyer un nouveau code").click()
    page.locator("label[for=id_confirm]").click()
    page.get_by_role("button", name="Envoyer un nouveau code").click()
    expect(page.get_by_text("Un nouveau code a été envoyé (e-mail).")).to_be_visible()
    new_code_mail = [mail for mail in mailoutbox if "nouveau code" in mail.subject]
    assert new_code_mail and new_code_mail[-1].to == [holder.email]
    assert "Code provisoire : " in new_code_mail[-1].body


def test_france_services_agent_is_refused_a_closure(page: Page, browser_personas):
    _agent_logs_in(page, browser_personas.agent_france_services.user)
    page.goto(f"/admin/accounts/patient/{browser_personas.camille.pk}/change/")
    # A person's page opens only once found by a search.
    expect(page.get_by_text("Recherchez d’abord la personne")).to_be_visible()
    page.locator("#searchbar").fill(browser_personas.camille.nir)
    page.locator("#searchbar").press("Enter")
    page.get_by_role("link", name="Lefèvre").first.click()
    expect(page.get_by_text("Camille Marie")).to_be_visible()
    expect(page.get_by_role("link", name="Clôturer le profil")).to_have_count(0)
    response = page.goto(f"/admin/accounts/patient/{browser_personas.camille.pk}/cloture/")
    assert response.status == 403
