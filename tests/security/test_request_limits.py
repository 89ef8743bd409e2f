"""Request bodies: refused from their announced size before anything reads them (413, French page).

Through the test client and the real middleware; tests/test_deploy.py does the same through gunicorn. A body
stream that fails the test when read proves that the refusal comes before CSRF, the form parser or a view.
"""

import io
import uuid

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.demo import DEMO_PASSWORD
from dossier.models import MAX_UPLOAD_BYTES, Document
from messagerie.models import MAX_ATTACHMENTS_BYTES, Attachment
from tests.messagerie.factories import start

pytestmark = pytest.mark.django_db

HUNDRED_MB = 100 * 1024 * 1024


class UnreadableBody(io.RawIOBase):
    """A wsgi.input announcing a huge body: reading any byte of it fails the test."""

    def __init__(self) -> None:
        self.read_from = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        self.read_from = True
        raise AssertionError("the body was read before being refused")


def assert_refused(response, status: int = 413) -> None:
    assert response.status_code == status
    page = response.content.decode()
    if status == 413:
        assert "Envoi trop volumineux" in page and "rien n’a été enregistré" in page
    else:
        assert "Taille de l’envoi inconnue" in page


def test_an_anonymous_hundred_megabytes_are_refused_unread(client):
    body = UnreadableBody()
    response = client.generic(
        "POST",
        reverse("accounts:login"),
        CONTENT_TYPE="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(HUNDRED_MB),
        **{"wsgi.input": body},
    )
    assert_refused(response)
    assert not body.read_from


def test_a_signed_in_hundred_megabytes_are_refused_unread(client, session_as, personas):
    session_as(client, "camille")
    body = UnreadableBody()
    response = client.generic(
        "POST",
        reverse("dossier:upload"),
        CONTENT_TYPE="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(HUNDRED_MB),
        **{"wsgi.input": body},
    )
    assert_refused(response)
    assert not body.read_from


def test_anonymous_forms_are_small(client, personas):
    padding = "x" * (settings.ANONYMOUS_REQUEST_BODY_MAX_BYTES + 1)
    response = client.post(
        reverse("accounts:login"), {"identifiant": "camille.lefevre", "password": DEMO_PASSWORD, "p": padding}
    )
    assert_refused(response)
    # The same login without padding goes through.
    response = client.post(reverse("accounts:login"), {"identifiant": "camille.lefevre", "password": DEMO_PASSWORD})
    assert response.status_code == 302


def test_attachments_above_the_largest_body_are_refused_and_nothing_is_stored(client, session_as, personas):
    conversation = start(personas.dr_martin, personas.camille)
    session_as(client, "camille")
    half = b"%PDF-1.4\n" + b"0" * (settings.REQUEST_BODY_MAX_BYTES // 2)
    response = client.post(
        reverse("messagerie:conversation", args=[conversation.public_id]),
        {
            "body": "ok",
            "client_token": uuid.uuid4(),
            "files": [SimpleUploadedFile("a.pdf", half), SimpleUploadedFile("b.pdf", half)],
        },
    )
    assert_refused(response)
    assert conversation.messages.count() == 1 and Attachment.objects.count() == 0


def test_a_body_without_its_length_is_refused(client, session_as, personas):
    session_as(client, "camille")
    body = UnreadableBody()
    response = client.generic(
        "POST",
        reverse("dossier:upload"),
        CONTENT_TYPE="multipart/form-data; boundary=x",
        HTTP_TRANSFER_ENCODING="chunked",
        **{"wsgi.input": body},
    )
    assert_refused(response, 411)
    assert not body.read_from and not Document.objects.filter(patient=personas.camille).exists()


def test_the_limits_fit_the_largest_uploads():
    """Above every upload the portal accepts, with room for the form around it; not much more."""
    largest = max(MAX_ATTACHMENTS_BYTES, MAX_UPLOAD_BYTES * 4 // 3)  # a document in base64 through the API
    assert largest < settings.REQUEST_BODY_MAX_BYTES <= largest + 2 * 1024 * 1024
    assert MAX_UPLOAD_BYTES * 4 // 3 < settings.DATA_UPLOAD_MAX_MEMORY_SIZE < settings.REQUEST_BODY_MAX_BYTES
    assert settings.FILE_UPLOAD_MAX_MEMORY_SIZE >= settings.REQUEST_BODY_MAX_BYTES  # never a clear temp file
    assert settings.ANONYMOUS_REQUEST_BODY_MAX_BYTES <= 1024 * 1024
    middleware = settings.MIDDLEWARE
    limit = middleware.index("espace_sante.lib.middleware.RequestBodyLimitMiddleware")
    assert middleware.index("django.contrib.auth.middleware.AuthenticationMiddleware") < limit
    # CsrfViewMiddleware reads the form in process_view, which runs only once every __call__ has run: ours, in
    # __call__, answers first wherever it stands after AuthenticationMiddleware.
