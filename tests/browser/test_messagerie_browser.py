"""The messagerie in a real browser: Dr Martin (TOTP) writes to Camille with an attachment; Camille is told by
e-mail, reads, answers and saves the attachment in her documents; Dr Martin ends the conversation."""

import re

import pytest
from playwright.sync_api import Page, expect

from dossier.models import Document
from tests.browser.test_login_browser import _fill_password_step, _patient_logs_in
from tests.conftest import totp_now

pytestmark = pytest.mark.browser
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
SUBJECT = "Ordonnance pour votre bilan"


def test_professional_writes_patient_answers_saves_then_professional_ends(
    page: Page, browser, live_server, browser_personas, mailoutbox, tmp_path
):
    attachment = tmp_path / "ordonnance-bilan.pdf"
    attachment.write_bytes(PDF)

    # Dr Martin logs in with TOTP, finds Camille by NIR and birth date, and writes with an attachment.
    pro_context = browser.new_context(base_url=live_server.url, locale="fr-FR")
    pro = pro_context.new_page()
    _fill_password_step(pro, "/pro/connexion/", "dr.martin")
    pro.get_by_label("Code de vérification").fill(totp_now(browser_personas.dr_martin.user))
    pro.get_by_role("button", name="Valider").click()
    expect(pro).to_have_url(re.compile(r"/pro/$"))
    pro.get_by_role("link", name="Messagerie").first.click()
    pro.get_by_role("link", name="Écrire à un patient").click()
    pro.get_by_label("Numéro de sécurité sociale ou matricule INS").fill(browser_personas.camille.nir)
    pro.get_by_label("Date de naissance").fill("1985-03-14")
    pro.get_by_role("button", name="Rechercher").click()
    expect(pro.get_by_role("heading", level=1)).to_have_text("Écrire à Camille Lefèvre")
    pro.get_by_label("Objet").fill(SUBJECT)
    pro.get_by_label("Message", exact=True).fill("Bonjour,\nvoici l’ordonnance pour votre bilan sanguin.")
    pro.get_by_label("Pièces jointes").set_input_files(str(attachment))
    pro.get_by_role("button", name="Envoyer").click()
    expect(pro.get_by_role("heading", level=1)).to_have_text(SUBJECT)
    expect(pro.get_by_text("Votre message a été envoyé à Camille Lefèvre.")).to_be_visible()

    # Camille gets an e-mail inviting her to log in, without the subject or the content.
    notifications = [m for m in mailoutbox if m.subject == "Nouveau message dans votre messagerie de santé"]
    assert [m.to for m in notifications] == [["camille.lefevre@example.org"]]
    assert SUBJECT not in notifications[0].body and "ordonnance" not in notifications[0].body
    assert "/messagerie/" in notifications[0].body

    # She logs in, sees the unread count, reads and answers.
    _patient_logs_in(page, "camille.lefevre", mailoutbox)
    expect(page.locator(".fr-tile__detail", has_text="1 message non lu")).to_be_visible()
    expect(page.get_by_role("link", name="Messagerie 1 message non lu")).to_be_visible()  # the header
    page.get_by_role("link", name=re.compile("^Messagerie")).first.click()
    expect(page.get_by_text("1 non lu")).to_be_visible()
    page.get_by_role("link", name=SUBJECT).click()
    expect(page.get_by_text("voici l’ordonnance pour votre bilan sanguin.")).to_be_visible()
    expect(page.get_by_role("link", name=re.compile("ordonnance-bilan.pdf"))).to_be_visible()
    page.get_by_label("Message", exact=True).fill("Merci docteur, je fais la prise de sang jeudi.")
    page.get_by_role("button", name="Envoyer").click()
    expect(page.get_by_text("Votre réponse a été envoyée.")).to_be_visible()
    expect(page.get_by_text("Merci docteur, je fais la prise de sang jeudi.")).to_be_visible()

    # One click saves the attachment in her documents.
    page.get_by_role("button", name="Enregistrer dans mes documents").click()
    expect(page.get_by_text("« ordonnance-bilan.pdf » est enregistré dans vos documents.")).to_be_visible()
    expect(page.get_by_text("Enregistrée dans vos documents")).to_be_visible()
    assert Document.objects.filter(patient=browser_personas.camille, title="ordonnance-bilan.pdf").count() == 1
    page.goto("/documents/")
    expect(page.get_by_role("link", name="ordonnance-bilan.pdf")).to_be_visible()

    # Dr Martin reads the answer and ends the conversation.
    pro.goto("/pro/messagerie/")
    expect(pro.get_by_text("1 non lu")).to_be_visible()
    pro.get_by_role("link", name=SUBJECT).click()
    expect(pro.get_by_text("Merci docteur, je fais la prise de sang jeudi.")).to_be_visible()
    pro.get_by_role("link", name="Mettre fin à la conversation").click()
    pro.get_by_role("button", name="Mettre fin à la conversation").click()
    expect(pro.get_by_text("La conversation est terminée : le patient ne peut plus y répondre.")).to_be_visible()
    pro_context.close()

    # Camille sees who ended it and can no longer answer.
    page.goto("/messagerie/")
    page.get_by_role("link", name=SUBJECT).click()
    expect(page.get_by_text("Dr Anne Martin, médecin généraliste a mis fin à vos échanges")).to_be_visible()
    expect(page.get_by_role("button", name="Envoyer")).to_have_count(0)
