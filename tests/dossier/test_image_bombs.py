"""Decompression bombs: an image of a few kilobytes that decodes to tens of millions of pixels is refused at
upload, in every image format and on every path that shares the check (documents, message attachments)."""

import io
import struct
import uuid
import zlib

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from dossier.enums import DocumentCategory
from dossier.files import MAX_PIXELS, check_upload
from dossier.models import Document
from messagerie.models import Attachment
from tests.messagerie.factories import start

FIVE_MB = 5 * 1024 * 1024
REFUSED = "Cette image est trop grande : 24 millions de pixels au maximum"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bomb_png(width: int = 7000, height: int = 7000) -> bytes:
    """A black-and-white PNG, all white, compressed row by row: 49 Mpx in about 47 Ko."""
    row = b"\x00" + b"\xff" * ((width + 7) // 8)  # filter byte, then 1 bit per pixel
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1 bit, greyscale
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", data) + _chunk(b"IEND", b"")


def bomb_jpeg(width: int = 7000, height: int = 7000) -> bytes:
    """A small JPEG whose frame header announces width x height (as a crafted file does)."""
    buffer = io.BytesIO()
    Image.new("L", (16, 16), 255).save(buffer, "JPEG")
    content = bytearray(buffer.getvalue())
    sof = content.index(b"\xff\xc0")
    content[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(content)


def many_page_tiff(pages: int, size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    frames = [Image.new("1", size, 1) for _ in range(pages)]
    frames[0].save(buffer, "TIFF", save_all=True, append_images=frames[1:], compression="group4")
    return buffer.getvalue()


def animated_png(frames: int, size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    images = [Image.new("1", size, index % 2) for index in range(frames)]
    images[0].save(buffer, "PNG", save_all=True, append_images=images[1:])
    return buffer.getvalue()


def test_the_generated_png_is_a_bomb():
    content = bomb_png()
    assert len(content) < 60_000
    with Image.open(io.BytesIO(content)) as image:
        assert image.size == (7000, 7000) and image.format == "PNG"


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("scan.png", bomb_png()),
        ("photo.jpg", bomb_jpeg()),
        ("scan.tif", many_page_tiff(1, (7000, 7000))),
        ("pages.tif", many_page_tiff(3, (3000, 3000))),  # 9 Mpx each, 27 in all
        ("anime.png", animated_png(30, (1000, 1000))),  # 1 Mpx each, 30 in all
    ],
)
def test_every_image_format_is_capped_in_decoded_pixels(name, content):
    assert len(content) < FIVE_MB
    with pytest.raises(ValidationError, match=REFUSED):
        check_upload(content, name, max_bytes=FIVE_MB)


def test_images_under_the_cap_are_accepted():
    assert check_upload(bomb_png(4000, 4000), "scan.png", max_bytes=FIVE_MB).content_type == "image/png"
    assert check_upload(many_page_tiff(2, (3000, 3000)), "p.tif", max_bytes=FIVE_MB).content_type == "image/tiff"
    assert MAX_PIXELS < 49_000_000


@pytest.mark.django_db
def test_a_bomb_png_upload_gets_a_french_message_and_nothing_is_stored(client, login_as, personas, settings):
    login_as(client, "camille")
    response = client.post(
        reverse("dossier:upload"),
        {
            "file": SimpleUploadedFile("scan.png", bomb_png()),
            "title": "Radio",
            "category": DocumentCategory.IMAGERIE,
            "care_date": "2026-03-02",
        },
    )
    assert response.status_code == 200
    assert REFUSED in response.content.decode()
    assert not Document.objects.exists()
    assert not (settings.MEDIA_ROOT / "chiffre" / "documents").exists()


@pytest.mark.django_db
def test_a_bomb_png_attachment_gets_a_french_message_and_nothing_is_stored(client, session_as, personas):
    conversation = start(personas.dr_martin, personas.camille)
    session_as(client, "camille")
    response = client.post(
        reverse("messagerie:conversation", args=[conversation.public_id]),
        {"body": "ma radio", "client_token": uuid.uuid4(), "files": [SimpleUploadedFile("radio.png", bomb_png())]},
    )
    assert response.status_code == 200
    assert REFUSED in response.content.decode()
    assert conversation.messages.count() == 1 and Attachment.objects.count() == 0
