"""A CDA R2 level 3 document in a real browser: the patient uploads the ANS discharge-letter example (with a
hostile paragraph added: script, handlers, an external image, a javascript: link) and reads it as a page, on the
document page and in the preview; its words are visible, nothing runs and nothing is fetched outside the site."""

import pytest
from playwright.sync_api import Page, Request, Route, expect

from tests.browser.test_login_browser import _patient_logs_in
from tests.dossier.test_cda import LDL_SES

pytestmark = pytest.mark.browser

HOSTILE = (
    b'<paragraph onclick="window.pwned=1" onmouseover="window.pwned=2">Paragraphe ajout\xc3\xa9 pour le test'
    b'<xhtml:script xmlns:xhtml="http://www.w3.org/1999/xhtml">window.pwned=3; alert("cda")</xhtml:script>'
    b'<xhtml:img xmlns:xhtml="http://www.w3.org/1999/xhtml" src="https://tracker.example/pixel.png"'
    b' onerror="window.pwned=4"/>'
    b'<linkHtml href="javascript:window.pwned=5">lien neutralis\xc3\xa9</linkHtml></paragraph>'
)


def test_patient_reads_a_level_3_cda_as_a_page_where_nothing_runs_or_is_fetched(
    page: Page, live_server, browser_personas, mailoutbox, tmp_path
):
    outside: list[str] = []

    def only_the_live_server(route: Route, request: Request) -> None:
        if request.url.startswith(live_server.url) or request.url.startswith("data:"):
            route.continue_()
        else:
            outside.append(request.url)
            route.abort()

    dialogs: list[str] = []
    page.context.route("**/*", only_the_live_server)  # every page of the context, the preview's too
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    _patient_logs_in(page, "camille.lefevre", mailoutbox)
    path = tmp_path / "lettre-de-liaison.xml"
    path.write_bytes(LDL_SES.replace(b"<text>", b"<text>" + HOSTILE, 1))
    page.goto("/documents/ajouter/")
    page.get_by_label("Fichier").set_input_files(str(path))
    page.get_by_label("Titre").fill("Lettre de liaison HEGP")
    page.get_by_label("Catégorie").select_option(label="Comptes rendus")
    page.get_by_label("Date des soins").fill("2019-12-03")
    page.get_by_role("button", name="Ajouter", exact=True).click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Lettre de liaison HEGP")
    expect(page.get_by_role("heading", name="Contenu du document")).to_be_visible()
    expect(page.get_by_role("heading", name="Motif de l'hospitalisation")).to_be_visible()
    expect(page.get_by_text("Episode psychotique – cachexie/anorexie")).to_be_visible()
    expect(page.get_by_text("Hôpital Européen Georges Pompidou").first).to_be_visible()
    paragraph = page.get_by_text("Paragraphe ajouté pour le test")
    expect(paragraph).to_be_visible()
    paragraph.hover()
    paragraph.click()
    page.get_by_text("lien neutralisé").click()
    assert page.locator(".cda-view script, .cda-view img, .cda-view a, .cda-view [style]").count() == 0

    with page.expect_popup() as popup_info:
        page.get_by_role("link", name="Aperçu").click()
    preview = popup_info.value
    expect(preview.get_by_role("heading", level=1)).to_have_text("Lettre de liaison HEGP")
    expect(preview.get_by_text("Synthèse médicale du séjour").first).to_be_visible()
    preview.get_by_text("Paragraphe ajouté pour le test").click()

    assert page.evaluate("window.pwned") is None and preview.evaluate("window.pwned") is None
    assert dialogs == []
    assert outside == []
