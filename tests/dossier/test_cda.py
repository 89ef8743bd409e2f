"""CDA R2 documents: parsing, levels and header of real CI-SIS examples; hostile XML refused or neutralised."""

import base64
import datetime
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError

from dossier import cda
from dossier.files import check_upload
from dossier.models import MAX_UPLOAD_BYTES
from tests.dossier.factories import PDF

EXAMPLES = Path(__file__).parent / "cda"
LEVEL_1 = (EXAMPLES / "IMG_CR_IMG_2024.01_CDA-R2-Niveau-1.xml").read_bytes()
LDL_SES = (EXAMPLES / "LDL-SES_2022.01.xml").read_bytes()
CR_BIO = (EXAMPLES / "BIO-CR-BIO_2024.01_TSH_1.xml").read_bytes()


def level_3(narrative: str, *, extra_header: str = "") -> bytes:
    """A minimal level 3 document whose one section carries `narrative` as its text."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:xhtml="http://www.w3.org/1999/xhtml">
  <code code="11490-0" codeSystem="2.16.840.1.113883.6.1" displayName="Lettre de liaison"/>
  <title>Lettre de sortie</title>{extra_header}
  <effectiveTime value="20260302"/>
  <confidentialityCode code="N" codeSystem="2.16.840.1.113883.5.25"/>
  <component><structuredBody><component><section>
    <title>Synthèse</title><text>{narrative}</text>
  </section></component></structuredBody></component>
</ClinicalDocument>""".encode()


def level_1(data: bytes, media_type: str = "application/pdf") -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<ClinicalDocument xmlns="urn:hl7-org:v3"><title>Compte rendu</title>
  <component><nonXMLBody><text mediaType="{media_type}" representation="B64">
  {base64.encodebytes(data).decode()}</text></nonXMLBody></component>
</ClinicalDocument>""".encode()


# --- Real examples ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("content", "expected"), [(LEVEL_1, 1), (LDL_SES, 3), (CR_BIO, 3)])
def test_the_ci_sis_examples_are_cda_documents_of_their_level(content, expected):
    assert cda.is_cda(content)
    assert cda.level(content) == expected


def test_summary_of_a_discharge_letter_gives_title_date_loinc_type_and_confidentiality():
    summary = cda.summary(LDL_SES)
    assert summary.title == "Lettre de liaison à la sortie de l'établissement de santé"
    assert summary.type_code == "11490-0"
    assert summary.confidentiality_code == "N"
    assert summary.level == 3
    assert summary.effective_time == datetime.datetime(
        2019, 12, 3, 13, 30, tzinfo=datetime.timezone(datetime.timedelta(hours=1))
    )
    assert cda.summary(CR_BIO).type_code == "11502-2"
    assert cda.summary(LEVEL_1).type_code == "18748-4"


def test_level_1_gives_its_embedded_pdf():
    data, content_type = cda.embedded_file(LEVEL_1)
    assert content_type == "application/pdf"
    assert data.startswith(b"%PDF-")


def test_level_3_renders_header_and_sections_as_escaped_html(settings):
    html = cda.render_html(LDL_SES)
    assert "<h2>Lettre de liaison à la sortie de l&#x27;établissement de santé</h2>" in html
    assert "Hôpital Européen Georges Pompidou" in html  # the author's organisation
    assert "Charles DAVID" in html
    assert "DOMINIQUE MARIE-LOUISE PAT-TROIS" in html  # the patient as the document names them
    assert "3 décembre 2019 à 13:30" in html
    assert "<h3>Motif de l&#x27;hospitalisation</h3>" in html
    assert "Episode psychotique" in html and "<table>" in html
    assert "BILAN THYROIDIEN" in cda.render_html(CR_BIO)


def test_narrative_elements_are_rendered_from_an_allow_list():
    html = cda.render_html(
        level_3(
            '<paragraph>Un <content styleCode="Bold">mot</content> fort<br/>et une ligne</paragraph>'
            '<list listType="ordered"><caption>Traitements</caption><item>Paracétamol</item></list>'
            '<table><caption>Résultats</caption><tbody><tr><td colspan="2">TSH</td></tr></tbody></table>'
            '<paragraph><sup>2</sup><linkHtml href="https://evil.example/">voir le site</linkHtml></paragraph>'
        )
    )
    assert '<p>Un <span class="cda-bold">mot</span> fort<br>et une ligne</p>' in html
    assert '<p class="cda-caption">Traitements</p><ol><li>Paracétamol</li></ol>' in html
    assert "<caption>Résultats</caption>" in html and '<td colspan="2">TSH</td>' in html
    assert "voir le site" in html and "evil.example" not in html and "<a " not in html


# --- Hostile input ------------------------------------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<ClinicalDocument xmlns="urn:hl7-org:v3"><title>&lol3;</title></ClinicalDocument>"""
XXE = b"""<?xml version="1.0"?>
<!DOCTYPE ClinicalDocument [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<ClinicalDocument xmlns="urn:hl7-org:v3"><title>&secret;</title></ClinicalDocument>"""
EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE ClinicalDocument SYSTEM "http://127.0.0.1:9/cda.dtd">
<ClinicalDocument xmlns="urn:hl7-org:v3"><title>x</title></ClinicalDocument>"""
PARAMETER_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/x.dtd"> %remote;]>
<ClinicalDocument xmlns="urn:hl7-org:v3"/>"""


@pytest.mark.parametrize("content", [BILLION_LAUGHS, XXE, EXTERNAL_DTD, PARAMETER_ENTITY])
def test_a_dtd_or_an_entity_is_refused_before_anything_is_expanded_or_fetched(content):
    with pytest.raises(ValidationError, match="DTD"):
        cda.parse(content)
    assert not cda.is_cda(content)
    with pytest.raises(ValidationError, match="DTD"):
        check_upload(content, "cr.xml", max_bytes=MAX_UPLOAD_BYTES)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"<ClinicalDocument xmlns='urn:hl7-org:v3'><title>", "mal formé"),
        (b"<?xml version='1.0'?><Bundle xmlns='http://hl7.org/fhir'/>", "n’est pas un document CDA"),
        (b"<ClinicalDocument><title>sans espace de noms</title></ClinicalDocument>", "n’est pas un document CDA"),
        (b"<ClinicalDocument xmlns='urn:hl7-org:v3'><title>vide</title></ClinicalDocument>", "pas de corps"),
        (b"<a xmlns='urn:hl7-org:v3'>" * 300, "trop complexe"),
        (b"<?xml version='1.0'?>" + b" " * (MAX_UPLOAD_BYTES + 1), "taille maximale"),
    ],
)
def test_malformed_non_cda_deep_or_huge_xml_is_refused_in_french(content, message):
    with pytest.raises(ValidationError, match=message):
        check_upload(content, "document.xml", max_bytes=MAX_UPLOAD_BYTES)


def test_scripts_handlers_styles_and_urls_in_a_narrative_are_neutralised():
    html = cda.render_html(
        level_3(
            '<paragraph ID="p1" onclick="alert(1)" style="color:red">Texte &lt;script&gt;alert(2)&lt;/script&gt;'
            "</paragraph>"
            "<xhtml:script>alert(3)</xhtml:script>"
            '<xhtml:img src="https://tracker.example/pixel.png"/>'
            '<renderMultiMedia referencedObject="img1"/>'
            '<linkHtml href="javascript:alert(4)" onmouseover="alert(5)">lien</linkHtml>'
            '<content styleCode="xss&quot; onload=&quot;alert(6)">contenu</content>'
            '<table onload="alert(7)"><tbody><tr><td colspan="2&quot; onclick=&quot;x" rowspan="-1">case</td>'
            "</tr></tbody></table>",
            extra_header="<author><assignedAuthor><assignedPerson><name><given>&lt;img src=x onerror=alert(8)&gt;"
            "</given></name></assignedPerson></assignedAuthor></author>",
        )
    )
    for forbidden in ("<script", "<img", "onclick", "onload", "onmouseover", "onerror=alert(8)>", "style=", "href"):
        assert forbidden not in html
    assert "javascript:" not in html and "tracker.example" not in html and "alert(3)" not in html
    assert "Texte &lt;script&gt;alert(2)&lt;/script&gt;" in html  # the words, escaped
    assert "&lt;img src=x onerror=alert(8)&gt;" in html
    assert "<td>case</td>" in html and "lien" in html and "contenu" in html


def test_a_level_1_whose_bytes_are_not_what_its_media_type_says_is_refused():
    assert cda.embedded_file(level_1(PDF)) == (PDF, "application/pdf")
    for content in (level_1(PDF, "image/png"), level_1(b"MZ\x90\x00 not a pdf"), level_1(PDF, "text/html")):
        with pytest.raises(ValidationError):
            cda.embedded_file(content)
        with pytest.raises(ValidationError):
            check_upload(content, "cr.xml", max_bytes=MAX_UPLOAD_BYTES)
    broken = level_1(PDF).replace(b"</text>", b"!!!</text>")
    with pytest.raises(ValidationError, match="base 64"):
        cda.embedded_file(broken)
    external = b"""<ClinicalDocument xmlns="urn:hl7-org:v3"><component><nonXMLBody><text mediaType="application/pdf">
        <reference value="https://example.org/cr.pdf"/></text></nonXMLBody></component></ClinicalDocument>"""
    with pytest.raises(ValidationError, match="inclus"):
        cda.embedded_file(external)


def test_check_upload_accepts_cda_documents_from_their_content_under_text_xml():
    for content in (LEVEL_1, LDL_SES, CR_BIO):
        checked = check_upload(content, "compte-rendu.xml", max_bytes=MAX_UPLOAD_BYTES)
        assert checked.content_type == cda.CDA_CONTENT_TYPE == "text/xml"
    with pytest.raises(ValidationError, match="pas accepté"):
        check_upload(LDL_SES, "lettre.pdf", max_bytes=MAX_UPLOAD_BYTES)
    with pytest.raises(ValidationError, match="mal formé"):
        check_upload(PDF, "lettre.xml", max_bytes=MAX_UPLOAD_BYTES)


def test_odd_spans_deep_but_allowed_nesting_and_a_latin_1_document_render():
    html = cda.render_html(
        level_3('<table><tbody><tr><td colspan="²" rowspan="9999999999">x</td></tr></tbody></table>')
    )
    assert "<td>x</td>" in html
    deep = "<content>" * 150 + "profond" + "</content>" * 150
    assert "profond" in cda.render_html(level_3(f"<paragraph>{deep}</paragraph>"))
    latin_1 = level_3("<paragraph>Fièvre à 39 °C</paragraph>").replace(b"UTF-8", b"ISO-8859-1")
    latin_1 = latin_1.decode().encode("iso-8859-1")
    assert "Fièvre à 39 °C" in cda.render_html(latin_1)
