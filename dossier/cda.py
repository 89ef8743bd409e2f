"""CDA R2 documents of the CI-SIS (HL7 Clinical Document Architecture): safe parsing, level, embedded file of a
level 1 document, readable HTML of a level 3 document, and the header fields the document-sharing API needs.

Parsing uses the expat parser of the standard library directly, with a document type declaration refused
outright: no DTD, so no entity of any kind (no external entity, no "billion laughs"), nothing fetched. The
narrative blocks are rendered by a walker over an allow-list of CDA narrative elements; every text goes through
format_html's escaping and no attribute of the document is copied into the page (no URL, style or handler).
"""

import base64
import binascii
import datetime
import re
from dataclasses import dataclass
from typing import Literal
from xml.etree.ElementTree import Element, TreeBuilder  # noqa: S405 — the tree builder only; parsing is ours
from xml.parsers import expat

from django.core.exceptions import ValidationError
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from dossier.models import CDA_CONTENT_TYPE, MAX_UPLOAD_BYTES

# CDA_CONTENT_TYPE: the DMP (XDS mimeType of a CDA R2 document, CI-SIS "Partage de documents de santé") and the
# PDSm DocumentReference attachment use text/xml for CDA R2 documents; the record stores them under that type.
__all__ = ["CDA_CONTENT_TYPE", "CdaSummary", "embedded_file", "is_cda", "level", "parse", "render_html", "summary"]
HL7 = "urn:hl7-org:v3"
LOINC = "2.16.840.1.113883.6.1"
MAX_DEPTH = 200
MAX_ELEMENTS = 200_000
EMBEDDED_TYPES = ("application/pdf", "image/jpeg", "image/png", "image/tiff")

NOT_XML = "Ce document XML est mal formé ou illisible."
NOT_CDA = "Ce fichier XML n’est pas un document CDA R2 (élément racine ClinicalDocument attendu)."
DTD_REFUSED = "Ce document XML contient une déclaration de type (DTD) ou des entités, refusées par sécurité."
TOO_DEEP = "Ce document XML est trop complexe (imbrication ou nombre d’éléments)."


@dataclass(frozen=True)
class CdaSummary:
    title: str
    effective_time: datetime.datetime | datetime.date | None
    type_code: str  # LOINC code of ClinicalDocument/code
    type_display: str
    confidentiality_code: str
    level: Literal[1, 3]


class _Refused(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _tag(name: str) -> str:
    """expat's "namespace local" to ElementTree's "{namespace}local"."""
    namespace, _, local = name.rpartition(" ")
    return f"{{{namespace}}}{local}" if namespace else local


def parse(content: bytes, *, max_bytes: int = MAX_UPLOAD_BYTES) -> Element:
    """The ClinicalDocument element, or a ValidationError in French. No DTD, no entity, no network."""
    if not content:
        raise ValidationError("Le fichier est vide.")
    if len(content) > max_bytes:
        raise ValidationError(f"Le fichier dépasse la taille maximale de {max_bytes // (1024 * 1024)} Mo.")
    builder = TreeBuilder()
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.buffer_text = True
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    state = {"depth": 0, "count": 0}

    def refuse_dtd(*args):
        raise _Refused(DTD_REFUSED)

    def start(name, attributes):
        state["depth"] += 1
        state["count"] += 1
        if state["depth"] > MAX_DEPTH or state["count"] > MAX_ELEMENTS:
            raise _Refused(TOO_DEEP)
        builder.start(_tag(name), {_tag(key): value for key, value in attributes.items()})

    def end(name):
        state["depth"] -= 1
        builder.end(_tag(name))

    parser.StartDoctypeDeclHandler = refuse_dtd
    parser.EntityDeclHandler = refuse_dtd
    parser.UnparsedEntityDeclHandler = refuse_dtd
    parser.NotationDeclHandler = refuse_dtd
    parser.ExternalEntityRefHandler = refuse_dtd
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = builder.data
    try:
        parser.Parse(content, True)
    except _Refused as refusal:
        raise ValidationError(refusal.message) from None
    except (expat.ExpatError, ValueError, LookupError):  # LookupError: an encoding Python does not know
        raise ValidationError(NOT_XML) from None
    root = builder.close()
    if root.tag != f"{{{HL7}}}ClinicalDocument":
        raise ValidationError(NOT_CDA)
    return root


def is_cda(content: bytes) -> bool:
    try:
        parse(content)
    except ValidationError:
        return False
    return True


def _child(element: Element | None, *path: str) -> Element | None:
    for name in path:
        if element is None:
            return None
        element = element.find(f"{{{HL7}}}{name}")
    return element


def _attribute(element: Element | None, name: str) -> str:
    return element.get(name, "") if element is not None else ""


def _text(element: Element | None) -> str:
    return " ".join("".join(element.itertext()).split()) if element is not None else ""


def _level(root: Element) -> Literal[1, 3]:
    component = _child(root, "component")
    if _child(component, "nonXMLBody") is not None:
        return 1
    if _child(component, "structuredBody") is not None:
        return 3
    raise ValidationError("Ce document CDA n’a pas de corps (nonXMLBody ou structuredBody).")


def level(content: bytes) -> Literal[1, 3]:
    """1 for a nonXMLBody (an embedded file), 3 for a structuredBody (sections with narrative blocks)."""
    return _level(parse(content))


def embedded_file(content: bytes) -> tuple[bytes, str]:
    """The file embedded in a level 1 document, checked from its bytes as an upload is; its content type."""
    from dossier.files import detect_content_type

    root = parse(content)
    if _level(root) != 1:
        raise ValidationError("Ce document CDA est structuré (niveau 3) : il ne contient pas de fichier joint.")
    text = _child(root, "component", "nonXMLBody", "text")
    if text is None or _child(text, "reference") is not None or len(text):
        raise ValidationError("Le fichier d’un document CDA doit être inclus dans le document (encodé en base 64).")
    media_type = text.get("mediaType", "text/plain")
    if media_type not in EMBEDDED_TYPES:
        raise ValidationError("Le fichier inclus dans un document CDA doit être un PDF ou une image JPEG, PNG, TIFF.")
    if text.get("representation") != "B64":
        raise ValidationError("Le fichier inclus dans ce document CDA doit être encodé en base 64 (B64).")
    try:
        data = base64.b64decode(re.sub(rb"\s+", b"", (text.text or "").encode("ascii")), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise ValidationError("Le fichier inclus dans ce document CDA est mal encodé (base 64).") from None
    if detect_content_type(data, max_bytes=MAX_UPLOAD_BYTES) != media_type:
        raise ValidationError("Le fichier inclus dans ce document CDA ne correspond pas au type qu’il déclare.")
    return data, media_type


# --- Header -----------------------------------------------------------------------------------------------


def _timestamp(value: str | None) -> datetime.datetime | datetime.date | None:
    """An HL7 TS (YYYYMMDD[HHMM[SS[.S]]][+ZZZZ]); a date alone when no time is given; None when unreadable."""
    match = re.fullmatch(r"(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(\d{2})?(?:\.\d+)?)?([+-]\d{4})?", value or "")
    if not match:
        return None
    year, month, day, hour, minute, second, zone = match.groups()
    try:
        if hour is None:
            return datetime.date(int(year), int(month), int(day))
        tzinfo = None
        if zone:
            sign = 1 if zone[0] == "+" else -1
            offset = datetime.timedelta(hours=int(zone[1:3]), minutes=int(zone[3:5]))
            tzinfo = datetime.timezone(sign * offset)
        return datetime.datetime(  # noqa: DTZ001 — naive only when the document gives no zone
            int(year), int(month), int(day), int(hour), int(minute), int(second or 0), tzinfo=tzinfo
        )
    except ValueError:
        return None


def _person_name(name: Element | None) -> str:
    """A CDA PN as the CI-SIS writes it: the given names then the birth name (family qualifier BR, else the
    first family), and the used name (CL) when it differs. Prefixes and suffixes (M, DR…) are left out."""
    if name is None:
        return ""
    families = [(part.get("qualifier", ""), _text(part)) for part in name.findall(f"{{{HL7}}}family")]
    givens = [(part.get("qualifier", ""), _text(part)) for part in name.findall(f"{{{HL7}}}given")]
    if not families and not givens:
        return _text(name)
    family = next((text for qualifier, text in families if qualifier == "BR"), families[0][1] if families else "")
    used = next((text for qualifier, text in families if qualifier == "CL"), "")
    given = next((text for qualifier, text in givens if qualifier == ""), givens[0][1] if givens else "")
    label = " ".join(part for part in (given, family) if part)
    return f"{label} (nom utilisé : {used})" if used and used != family else label


def summary(content: bytes) -> CdaSummary:
    """Title, effective time, LOINC document type (ClinicalDocument/code), confidentiality code and level."""
    root = parse(content)
    code = _child(root, "code")
    type_code = ""
    if code is not None and code.get("codeSystem") == LOINC:
        type_code = code.get("code", "")
    return CdaSummary(
        title=_text(_child(root, "title")),
        effective_time=_timestamp(_attribute(_child(root, "effectiveTime"), "value")),
        type_code=type_code,
        type_display=code.get("displayName", "") if code is not None else "",
        confidentiality_code=_attribute(_child(root, "confidentialityCode"), "code"),
        level=_level(root),
    )


def _date_display(value: datetime.datetime | datetime.date | None) -> str:
    if isinstance(value, datetime.datetime):
        return date_format(value, "j F Y à H:i")
    if isinstance(value, datetime.date):
        return date_format(value, "j F Y")
    return ""


# --- Narrative blocks -------------------------------------------------------------------------------------

# CDA narrative element → HTML element; the only elements ever written.
BLOCKS = {
    "paragraph": "p",
    "item": "li",
    "thead": "thead",
    "tbody": "tbody",
    "tfoot": "tfoot",
    "tr": "tr",
    "sub": "sub",
    "sup": "sup",
}
STYLE_CLASSES = {"bold": "cda-bold", "italics": "cda-italic", "underline": "cda-underline", "emphasis": "cda-bold"}
DROPPED = {"renderMultiMedia", "col", "colgroup", "footnoteRef"}


def _span_count(value: str | None) -> int:
    """A colspan or rowspan of 1 to 100; anything else (text, "²", a thousand digits) counts as 1."""
    return min(max(int(value), 1), 100) if value and re.fullmatch(r"[0-9]{1,3}", value) else 1


def _children(element: Element, *, table: bool = False, skip_captions: bool = False) -> SafeString:
    """The element's text and its children, each child followed by its tail, all escaped. A table's caption
    is the table's <caption>, a list's is written before the list, elsewhere a caption is a bold lead."""
    parts: list[SafeString | str] = [element.text or ""]
    for child in element:
        if skip_captions and child.tag == f"{{{HL7}}}caption":
            pass
        elif table and child.tag == f"{{{HL7}}}caption":
            parts.append(format_html("<caption>{}</caption>", _children(child)))
        else:
            parts.append(_narrative(child))
        parts.append(child.tail or "")
    return format_html_join("", "{}", ((part,) for part in parts))


def _narrative(element: Element) -> SafeString | str:
    tag = element.tag if isinstance(element.tag, str) else ""
    if not tag.startswith(f"{{{HL7}}}"):
        return ""  # another namespace (xhtml:script, svg…): dropped with its content
    name = tag[len(HL7) + 2 :]
    if name in DROPPED:
        return ""
    if name == "br":
        return format_html("<{}>", "br")
    if name == "linkHtml":
        return _text(element)  # the words only: never a link out of the record
    if name == "list":
        html_tag = "ol" if element.get("listType") == "ordered" else "ul"
        captions = format_html_join(
            "", '<p class="cda-caption">{}</p>', ((_children(c),) for c in element.findall(f"{{{HL7}}}caption"))
        )
        return format_html("{1}<{0}>{2}</{0}>", html_tag, captions, _children(element, skip_captions=True))
    if name == "table":
        return format_html('<div class="fr-table cda-table"><table>{}</table></div>', _children(element, table=True))
    if name in ("th", "td"):
        spans = [(key, _span_count(element.get(key))) for key in ("colspan", "rowspan")]
        return format_html(
            "<{0}{1}>{2}</{0}>",
            name,
            format_html_join("", ' {}="{}"', ((key, count) for key, count in spans if count > 1)),
            _children(element),
        )
    if name == "caption":
        return format_html('<strong class="cda-caption">{}</strong> ', _children(element))
    if name == "content":
        styles = (element.get("styleCode") or "").lower().split()
        classes = " ".join(sorted({STYLE_CLASSES[s] for s in styles if s in STYLE_CLASSES}))
        if classes:
            return format_html('<span class="{}">{}</span>', classes, _children(element))
        return _children(element)
    if name in BLOCKS:
        return format_html("<{0}>{1}</{0}>", BLOCKS[name], _children(element))
    return _children(element)  # footnote and unknown narrative elements: their words, escaped


def _section(section: Element, depth: int) -> SafeString:
    heading = f"h{min(depth, 6)}"
    title = _text(_child(section, "title"))
    text = _child(section, "text")
    subsections = format_html_join(
        "",
        "{}",
        ((_section(sub, depth + 1),) for sub in section.findall(f"{{{HL7}}}component/{{{HL7}}}section")),
    )
    return format_html(
        '<section class="cda-section">{}{}{}</section>',
        format_html("<{0}>{1}</{0}>", heading, title) if title else "",
        format_html('<div class="cda-narrative">{}</div>', _children(text)) if text is not None else "",
        subsections,
    )


def render_html(content: bytes) -> SafeString:
    """A level 3 document as HTML: its header (title, date, author and organisation, patient as named in the
    document), then each section's title and narrative block. Everything escaped; no URL, style or script."""
    root = parse(content)
    if _level(root) != 3:
        raise ValidationError("Ce document CDA n’est pas structuré (niveau 1) : affichez son fichier joint.")
    author = _child(root, "author", "assignedAuthor")
    patient = _child(root, "recordTarget", "patientRole", "patient", "name")
    header = [
        ("Date du document", _date_display(_timestamp(_attribute(_child(root, "effectiveTime"), "value")))),
        ("Auteur", _person_name(_child(author, "assignedPerson", "name"))),
        ("Organisation", _text(_child(author, "representedOrganization", "name"))),
        ("Patient", _person_name(patient)),
    ]
    body = _child(root, "component", "structuredBody")
    sections = format_html_join(
        "", "{}", ((_section(section, 3),) for section in body.findall(f"{{{HL7}}}component/{{{HL7}}}section"))
    )
    return format_html(
        '<article class="cda-document"><header class="cda-header"><h2>{}</h2><dl class="summary-list">{}</dl>'
        "</header>{}</article>",
        _text(_child(root, "title")) or "Document CDA",
        format_html_join("", "<dt>{}</dt><dd>{}</dd>", ((label, value) for label, value in header if value)),
        sections,
    )
