"""Production log lines: one JSON object per line, an access line per request, and no personal data.

The handler under test is the one base.py's LOGGING installs (test settings inherit it): its formatter and its
filters are copied onto a handler writing to memory. The flow is the one of
tests/security/test_no_secrets_leak.py (activation with NIR and code, a wrong password, a two-step login, a
new code), plus token-bearing paths, a CSRF failure and an error.
"""

import io
import json
import logging
import secrets

import pytest
from django.test import Client
from django.urls import reverse

from accounts.demo import DEMO_PASSWORD
from accounts.models import Patient, User
from activation import codes
from espace_sante.lib.logging import PATTERNS, JsonFormatter, ScrubPersonalData, scrub
from tests.conftest import SERIAL, login_patient

LINE_KEYS = {"time", "level", "logger", "message", "request_id", "route", "method", "status", "duration_ms"}
OPTIONAL_KEYS = {"exception", "stack"}


class _Raw(logging.Handler):
    """What the code logged, before any scrubbing: the product itself must not log secrets."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.texts.append(record.getMessage())


@pytest.fixture
def log_lines(caplog):
    """Every line the production handler would write during the test, and the raw messages."""
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="django")
    root = logging.getLogger()
    (console,) = [handler for handler in root.handlers if isinstance(handler.formatter, JsonFormatter)]
    assert any(isinstance(f, ScrubPersonalData) for f in console.filters)
    stream = io.StringIO()
    production = logging.StreamHandler(stream)
    production.setFormatter(console.formatter)
    for filter_ in console.filters:
        production.addFilter(filter_)
    raw = _Raw()
    root.handlers.insert(0, raw)  # before the scrub filter changes the records
    root.addHandler(production)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()], raw
    finally:
        root.removeHandler(production)
        root.removeHandler(raw)


@pytest.mark.django_db
def test_requests_and_a_login_write_json_lines_without_personal_data(
    client, personas, informed, mailoutbox, log_lines
):
    read_lines, raw = log_lines
    patient, code = informed()
    client.get(reverse("accounts:dashboard"))  # anonymous: redirected to sign in
    client.post(
        reverse("activation:start"),
        {"code": codes.display(code), "nir": patient.nir, "card_type": "avec_photo", "serial": "80250000020000000000"},
    )
    client.post(reverse("accounts:login"), {"identifiant": "camille.lefevre", "password": "Mauvais-Mot-1!"})
    login_patient(client, "camille.lefevre", mailoutbox)
    otp = mailoutbox[-1].body.split("connexion à Mon espace santé : ")[1][:6]
    client.get(reverse("accounts:dashboard"))
    client.post(reverse("activation:new_code"), {"nir": patient.nir, "serial": SERIAL, "birth_date": "02/04/1990"})
    share_token = secrets.token_urlsafe(32)
    client.get(reverse("share_open", args=[share_token]))  # an unknown share link: 404
    reset_token = "c5k2xz-" + secrets.token_hex(16)
    client.get(reverse("accounts:password_reset_confirm", args=["MTIz", reset_token]))
    strict = Client(enforce_csrf_checks=True)
    strict.post(reverse("accounts:login"), {"identifiant": patient.nir, "password": DEMO_PASSWORD})  # CSRF: 403
    session_key = client.session.session_key

    lines = read_lines()
    assert lines, "nothing was logged"
    for line in lines:
        assert {"time", "level", "logger", "message"} <= line.keys() <= LINE_KEYS | OPTIONAL_KEYS, line

    access = [line for line in lines if line["logger"] == "espace_sante.requests"]
    assert len(access) >= 10  # one per request
    for line in access:
        assert line.keys() >= {"method", "status", "duration_ms"}, line
        assert isinstance(line["status"], int) and isinstance(line["duration_ms"], int | float)
    answers = {(line.get("route"), line["status"]) for line in access}
    assert {
        ("accounts:dashboard", 302),
        ("accounts:dashboard", 200),
        ("accounts:login", 302),
        ("share_open", 404),
        ("accounts:login", 403),
    } <= answers
    assert all("request_id" in line for line in access)
    # Django's own lines name the route instead of the path.
    not_found = [line for line in lines if line["logger"] == "django.request" and line.get("status") == 404]
    assert any(line["message"] == "Not Found: <share_open>" and "request_id" in line for line in not_found), not_found

    output = "\n".join(json.dumps(line, ensure_ascii=False) for line in lines)
    emails = [email for email in User.objects.values_list("email", flat=True) if email]
    emails += [email for email in Patient.objects.values_list("email", flat=True) if email]
    secret_values = [
        patient.nir,
        code,
        codes.display(code),
        DEMO_PASSWORD,
        "Mauvais-Mot-1!",
        otp,
        session_key,
        SERIAL,
        "80250000020000000000",
        *emails,
        "Lefèvre",
        "Jeanne Alice",
    ]
    for secret in secret_values:
        assert secret not in output, secret
    for token in (share_token, reset_token):  # in the request paths: gone from the lines
        assert token not in output
    assert scrub(output) == output  # nothing NIR-, e-mail-, code- or token-shaped survived
    # The product did not rely on the filter for what it writes itself (Django's paths aside).
    raw_text = "\n".join(raw.texts)
    for secret in secret_values:
        assert secret not in raw_text, secret


def _format(record: logging.LogRecord) -> dict:
    ScrubPersonalData().filter(record)
    return json.loads(JsonFormatter().format(record))


def test_the_filter_scrubs_message_arguments_and_traceback_and_extra_fields_are_left_out():
    nir, email, code = "290043155512345", "jeanne.martin@example.org", "7Q3M-9XKA-2BCD-EFGH"
    try:
        raise ValueError(f"duplicate key (nir)=({nir}) for {email}")
    except ValueError as error:
        record = logging.LogRecord(
            "espace_sante.test",
            logging.ERROR,
            __file__,
            1,
            "code %s for %s",
            (code, email),
            exc_info=(
                type(error),
                error,
                error.__traceback__,
            ),
        )
    record.patient_nir = nir  # an `extra` field: not part of a line
    line = _format(record)
    text = json.dumps(line)
    for secret in (nir, email, code):
        assert secret not in text
    assert line["message"] == "code [code] for [email]"
    assert "[nir]" in line["exception"] and "[email]" in line["exception"]
    assert "patient_nir" not in line


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 90 04 31 555 123 45", "[nir]"),
        ("2900431555123", "[nir]"),
        ("1850599123456 78", "[nir]"),  # Corsica and others: any 13 digits
        ("card 80250000021112223334", "card [number]"),
        ("ABCD-EF12-GH34-JK56", "[code]"),
        ("abcdef12gh34jk56", "[code]"),
        ("sessionid=0a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p", "sessionid=[token]"),
        ("3f2a9c1e-5b7d-4e2f-a1b3-9c8d7e6f5a4b", "3f2a9c1e-5b7d-4e2f-a1b3-9c8d7e6f5a4b"),  # ids stay
        ("GET dossier:document 200 12.5ms", "GET dossier:document 200 12.5ms"),
        ("RPPS 10003456786", "RPPS 10003456786"),  # public directory number, 11 digits
        ("succeeded in 0.2900431555123s", "succeeded in 0.2900431555123s"),  # a duration, not a NIR
        ("espace_sante_outbox_deliver_emails_task", "espace_sante_outbox_deliver_emails_task"),
    ],
)
def test_scrub_patterns(text, expected):
    assert scrub(text) == expected
    assert {label for label, _ in PATTERNS} == {"[email]", "[nir]", "[number]", "[code]", "[token]"}
