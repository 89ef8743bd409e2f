"""What an uploaded file really is: decided from its content, never from its name alone."""

import io
import re
import unicodedata
from dataclasses import dataclass

from django.core.exceptions import ValidationError

MAX_PIXELS = 50_000_000  # a bigger "image" is a decompression bomb, not a scan

SIGNATURES = [
    (b"%PDF-", "application/pdf", {".pdf"}),
    (b"\x89PNG\r\n\x1a\n", "image/png", {".png"}),
    (b"\xff\xd8\xff", "image/jpeg", {".jpg", ".jpeg"}),
    (b"II*\x00", "image/tiff", {".tif", ".tiff"}),
    (b"MM\x00*", "image/tiff", {".tif", ".tiff"}),
    (b"{\\rtf", "application/rtf", {".rtf"}),
]
TEXT_EXTENSIONS = {".txt"}
ACCEPTED = "PDF, TXT, RTF, JPEG, PNG ou TIFF"


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


def _check_image(content: bytes) -> None:
    from PIL import Image

    try:
        with Image.open(io.BytesIO(content)) as image:
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise ValidationError("Cette image est trop grande (dimensions).")
            image.verify()
    except ValidationError:
        raise
    except Exception:  # noqa: BLE001 — Pillow raises many kinds of errors on broken files
        raise ValidationError("Cette image est illisible ou endommagée.") from None
