"""What an uploaded file really is: decided from its content, never from its name alone."""

import io
import re
import unicodedata
from dataclasses import dataclass

from django.core.exceptions import ValidationError

from dossier import cda

# Decoded size of an image, all its pages or frames together: 24 million pixels holds a 300 dpi A3 scan or a
# 24 Mpx photo (a bigger photo does not fit in 5 Mo anyway). A bigger "image" in a few kilobytes is a
# decompression bomb: each viewer (the browser showing it inline) would decode ~100 Mo per view.
MAX_PIXELS = 24_000_000
MAX_FRAMES = 200  # pages of a TIFF, frames of an animated PNG
TOO_MANY_PIXELS = (
    f"Cette image est trop grande : {MAX_PIXELS // 1_000_000} millions de pixels au maximum (toutes pages "
    "comprises). Réduisez sa résolution ou envoyez-la en PDF."
)

SIGNATURES = [
    (b"%PDF-", "application/pdf", {".pdf"}),
    (b"\x89PNG\r\n\x1a\n", "image/png", {".png"}),
    (b"\xff\xd8\xff", "image/jpeg", {".jpg", ".jpeg"}),
    (b"II*\x00", "image/tiff", {".tif", ".tiff"}),
    (b"MM\x00*", "image/tiff", {".tif", ".tiff"}),
    (b"{\\rtf", "application/rtf", {".rtf"}),
]
TEXT_EXTENSIONS = {".txt"}
CDA_EXTENSIONS = {".xml"}
ACCEPTED = "PDF, TXT, RTF, JPEG, PNG, TIFF ou document CDA R2 (XML)"


@dataclass(frozen=True)
class CheckedFile:
    content: bytes
    content_type: str
    filename: str


def safe_filename(name: str) -> str:
    """The last path component, without control characters, at most 150 characters."""
    name = re.split(r"[\\/]", name or "")[-1]
    name = "".join(c for c in unicodedata.normalize("NFC", name) if unicodedata.category(c)[0] != "C").strip(" .")
    return (name or "document")[-150:]


def _extension(name: str) -> str:
    return ("." + name.rsplit(".", 1)[-1].lower()) if "." in name else ""


def check_upload(content: bytes, filename: str, *, max_bytes: int) -> CheckedFile:
    """Raise ValidationError (French) unless the content is an accepted type matching its extension."""
    name = safe_filename(filename)
    if not content:
        raise ValidationError("Le fichier est vide.")
    if len(content) > max_bytes:
        raise ValidationError(f"Le fichier dépasse la taille maximale de {max_bytes // (1024 * 1024)} Mo.")
    extension = _extension(name)
    if extension in CDA_EXTENSIONS:  # an XML file must be a CDA R2 document, read safely from its content
        _check_cda(content)
        return CheckedFile(content=content, content_type=cda.CDA_CONTENT_TYPE, filename=name)
    for magic, content_type, extensions in SIGNATURES:
        if content.startswith(magic):
            if extension not in extensions:
                raise ValidationError("Le contenu du fichier ne correspond pas à son extension.")
            if content_type.startswith("image/"):
                _check_image(content)
            return CheckedFile(content=content, content_type=content_type, filename=name)
    if extension in TEXT_EXTENSIONS:
        if b"\x00" in content:
            raise ValidationError("Ce fichier texte contient des données binaires.")
        try:
            content.decode("utf-8")
        except UnicodeDecodeError:
            try:
                content.decode("cp1252")
            except UnicodeDecodeError:
                raise ValidationError("Ce fichier texte n’est pas lisible (encodage inconnu).") from None
        return CheckedFile(content=content, content_type="text/plain", filename=name)
    raise ValidationError(f"Ce type de fichier n’est pas accepté. Formats acceptés : {ACCEPTED}.")


def detect_content_type(content: bytes, *, max_bytes: int) -> str | None:
    """The type of a PDF or image read from its bytes (images checked as uploads are), None for anything else.
    Used for the file embedded in a CDA level 1 document, which has no file name."""
    if not content or len(content) > max_bytes:
        return None
    for magic, content_type, _extensions in SIGNATURES:
        if content.startswith(magic) and content_type != "application/rtf":
            if content_type.startswith("image/"):
                _check_image(content)
            return content_type
    return None


def _check_cda(content: bytes) -> None:
    """A CDA R2 document: parsed safely; a level 1 one must carry a PDF or image matching its declared type;
    a level 3 one must render."""
    if cda.level(content) == 1:
        cda.embedded_file(content)
    else:
        cda.render_html(content)


def _check_image(content: bytes) -> None:
    """Pixel and frame caps read from the headers (nothing decoded), for every image format, then Pillow's check
    of the file's structure."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(content)) as image:
            frames = getattr(image, "n_frames", 1)
            if frames > MAX_FRAMES:
                raise ValidationError(f"Cette image compte trop de pages ({MAX_FRAMES} au maximum).")
            pixels = 0
            for index in range(frames):
                if index and image.format == "TIFF":  # each page has its own size; reading it decodes nothing
                    image.seek(index)
                width, height = image.size  # other formats: every frame fits in the first one's canvas
                pixels += width * height
                if pixels > MAX_PIXELS:
                    raise ValidationError(TOO_MANY_PIXELS)
            image.seek(0)
            image.verify()
    except ValidationError:
        raise
    except Image.DecompressionBombError:  # over twice Pillow's own limit: refused by Image.open already
        raise ValidationError(TOO_MANY_PIXELS) from None
    except Exception:  # noqa: BLE001 — Pillow raises many kinds of errors on broken files (and DecompressionBomb*)
        raise ValidationError("Cette image est illisible ou endommagée.") from None
