"""No NIR, code, password or session id in URLs or logs; uploads that try to be clever are refused."""

import io
import logging
import zlib

import pytest
from django.core.exceptions import ValidationError
from django.urls import get_resolver, reverse
from PIL import Image

from accounts.demo import DEMO_PASSWORD
from activation import codes
from dossier.files import check_upload, safe_filename
from tests.conftest import SERIAL, login_patient

# Capability links (share links, the agenda feed) carry a random token by design; they are stored hashed.
# What must never appear in a route is a person's identifier or a secret they type.
SENSITIVE_ROUTE_WORDS = ("nir", "password", "session", "serial", "provisional", "otp")


def _routes(patterns, prefix=""):
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if hasattr(pattern, "url_patterns"):
            yield from _routes(pattern.url_patterns, route)
        else:
            yield route


def test_no_route_carries_a_nir_a_provisional_code_or_a_password():
    for route in _routes(get_resolver().url_patterns):
        for parameter in route.split("<")[1:]:
            name = parameter.split(">")[0].split(":")[-1]
            assert not any(word in name for word in SENSITIVE_ROUTE_WORDS), route


@pytest.mark.django_db
def test_logs_hold_no_nir_code_or_password(client, personas, informed, mailoutbox, caplog):
    caplog.set_level(logging.DEBUG)
    patient, code = informed()
    client.post(
        reverse("activation:start"),
        {"code": codes.display(code), "nir": patient.nir, "card_type": "avec_photo", "serial": "80250000020000000000"},
    )
    client.post(reverse("accounts:login"), {"identifiant": "camille.lefevre", "password": "Mauvais-Mot-1!"})
    login_patient(client, "camille.lefevre", mailoutbox)
    client.post(reverse("activation:new_code"), {"nir": patient.nir, "serial": SERIAL, "birth_date": "02/04/1990"})
    text = caplog.text
    for secret in (
        patient.nir,
        code,
        codes.display(code),
        DEMO_PASSWORD,
        "Mauvais-Mot-1!",
        client.session.session_key,
    ):
        assert secret not in text


def _png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("1", (width, height)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("polyglotte.pdf", b"GIF89a" + b"%PDF-1.4 trailer"),  # an image header dressed as a PDF
        ("page.pdf", b"<html><script>alert(1)</script></html>%PDF-1.4"),  # HTML first, PDF magic later
        ("bombe.png", _png(20000, 20000)),  # 400 megapixels in a few kilobytes
        ("archive.pdf", b"PK\x03\x04" + zlib.compress(b"0" * 1_000_000)),  # a zip renamed .pdf
        ("exe.txt", b"MZ\x90\x00" + b"\x00" * 64),  # an executable named .txt
        ("rtf.png", b"{\\rtf1 bonjour}"),  # right content, wrong extension
    ],
)
def test_disguised_uploads_are_refused(name, content):
    with pytest.raises(ValidationError):
        check_upload(content, name, max_bytes=5 * 1024 * 1024)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("../../etc/passwd.txt", "passwd.txt"),
        ("C:\\Users\\moi\\ordonnance.pdf", "ordonnance.pdf"),
        ("ordo\x00nnance\x1b[31m.pdf", "ordonnance[31m.pdf"),
        ("", "document"),
        ("...", "document"),
    ],
)
def test_file_names_lose_paths_and_control_characters(raw, expected):
    assert safe_filename(raw) == expected
