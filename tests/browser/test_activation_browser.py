"""Activation and opposition in a real browser, with the code a real campaign e-mailed: what a person types."""

import io
import re

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from accounts.models import Patient
from activation.models import ProvisionalCode
from activation.views import MISMATCH
from tests.activation.factories import registry_row, write_registry

pytestmark = pytest.mark.browser

PASSWORD = "Tisane-Verte-42!"
CAMPAIGN_CODE = re.compile(r"^Code provisoire : ([0-9A-Z]{4}(?:-[0-9A-Z]{4}){3})$", re.MULTILINE)
VERIFICATION_CODE = re.compile(r"vérification Mon espace santé : (\d{6})")
# The password label carries its hint ("Au moins 9 caractères…"), and "Confirmation du mot de passe" contains it too.
PASSWORD_LABEL = re.compile(r"^\s*Mot de passe")


@pytest.fixture
def informed_by_email(transactional_db, tmp_path, mailoutbox):
    """An adult with an e-mail address, imported then informed as operators do it: returns (row, printed code)."""

    def inform(index: int) -> tuple[dict, str]:
        row = registry_row(index)
        path = write_registry(tmp_path / f"assures-{index}.csv", [row])
        call_command("import_assures", str(path), stdout=io.StringIO())
        call_command("lancer_campagne", stdout=io.StringIO())
        [campaign_mail] = [mail for mail in mailoutbox if mail.to == [row["email"]]]
        return row, CAMPAIGN_CODE.search(campaign_mail.body).group(1)

    return inform


def _identify(page: Page, row: dict, code: str, *, serial: str | None = None) -> None:
    page.goto("/activation/")
    page.get_by_label("Code provisoire").fill(code)
    page.get_by_label("Numéro de sécurité sociale").fill(row["nir"])
    card_model = page.get_by_role("group", name="Modèle de carte Vitale")
    card_model.get_by_text("Carte Vitale avec photo").click()  # the DSFR radio is drawn by its label
    expect(card_model.get_by_role("radio", name="Carte Vitale avec photo")).to_be_checked()
    page.get_by_label("Numéro de série de la carte Vitale").fill(serial or row["numero_serie_vitale"])
    page.get_by_role("button", name="Continuer").click()


def _first_name(row: dict) -> str:
    return row["prenoms"].split()[0]


def test_activation_with_the_emailed_campaign_code(page: Page, informed_by_email, mailoutbox):
    row, code = informed_by_email(501)

    _identify(page, row, code)
    expect(page).to_have_url(re.compile(r"/activation/choix/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Que souhaitez-vous faire ?")
    expect(page.get_by_role("main")).to_contain_text(f"Profil de {_first_name(row)} {row['nom_naissance']}")
    page.get_by_role("link", name="Activer mon profil", exact=True).click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Activer mon profil")
    expect(page.get_by_label("Adresse e-mail")).to_have_value(row["email"])
    page.get_by_label("Téléphone mobile").fill("06 12 34 56 78")
    page.get_by_label("Identifiant").fill("prenom.cinqcentun")
    page.get_by_label(PASSWORD_LABEL).fill(PASSWORD)
    page.get_by_label("Confirmation du mot de passe").fill(PASSWORD)
    page.get_by_text("J’accepte les conditions générales d’utilisation").click()
    expect(page.get_by_role("checkbox", name="J’accepte les conditions générales")).to_be_checked()
    page.get_by_role("button", name="Continuer").click()

    expect(page).to_have_url(re.compile(r"/activation/activer/verification/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Vérifier mon adresse e-mail")
    expect(page.get_by_role("main")).to_contain_text(row["email"])
    verification_mail = mailoutbox[-1]
    assert verification_mail.to == [row["email"]]
    page.get_by_label("Code de vérification").fill(VERIFICATION_CODE.search(verification_mail.body).group(1))
    page.get_by_role("button", name="Activer mon profil").click()

    expect(page).to_have_url(re.compile(r"/tableau-de-bord/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Bonjour {_first_name(row)}")
    expect(page.get_by_text("Votre profil Mon espace santé est activé.")).to_be_visible()
    user = Patient.objects.select_related("user").get(nir=row["nir"]).user
    assert user.username == "prenom.cinqcentun" and user.check_password(PASSWORD)


def test_opposition_then_pdf_receipt_download(page: Page, informed_by_email, tmp_path):
    row, code = informed_by_email(502)
    patient = Patient.objects.get(nir=row["nir"])

    _identify(page, row, code)
    page.get_by_role("link", name="M’opposer", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("M’opposer à la création du profil")
    page.get_by_role("button", name="Confirmer mon opposition").click()

    expect(page).to_have_url(re.compile(r"/activation/opposition/[0-9a-f-]{36}/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Votre opposition est enregistrée")
    reference = re.search(r"Référence\s*:\s*([A-Z0-9-]+)", page.get_by_role("main").inner_text()).group(1)
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Télécharger le justificatif").click()
    download = download_info.value
    assert download.suggested_filename == f"justificatif-opposition-{reference}.pdf"
    pdf_path = tmp_path / download.suggested_filename
    download.save_as(pdf_path)

    reader = PdfReader(pdf_path)
    text = " ".join(" ".join(pdf_page.extract_text() for pdf_page in reader.pages).split())
    assert "Justificatif" in text
    assert f"{row['prenoms']} {row['nom_naissance']}" in text
    assert reference in text
    assert patient.masked_nir in text
    compact = text.replace(" ", "")
    assert row["nir"] not in compact
    assert row["nir"][5:] not in compact  # nothing of the NIR beyond sex, year and month of birth


def test_wrong_serial_number_shows_one_generic_message(page: Page, informed_by_email):
    row, code = informed_by_email(503)

    _identify(page, row, code, serial="80250000029999999999")

    expect(page).to_have_url(re.compile(r"/activation/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Activer mon profil ou m’y opposer")
    expect(page.get_by_role("alert")).to_contain_text(MISMATCH)
    expect(page.get_by_text(MISMATCH)).to_have_count(1)
    expect(page.get_by_text("Ce champ est obligatoire")).to_have_count(0)
    expect(page.get_by_label("Code provisoire")).to_have_value(code)  # kept, to correct only what is wrong
    assert ProvisionalCode.objects.get(patient__nir=row["nir"]).failed_attempts == 1
