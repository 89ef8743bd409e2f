"""Shared fixtures: the demo personas, logging in as one of them, and a clean cache per test."""

import datetime
import os
import time

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import TOTP

from accounts.demo import DEMO_PASSWORD, seed
from accounts.enums import Sex, VitaleCardType
from accounts.models import Patient
from activation.enums import CodeChannel
from activation.models import HealthSpace
from activation.services.enrolment import code_issue
from tests.activation.factories import nir_for

PERSONA_USERS = {
    "camille": "camille.lefevre",
    "julien": "julien.moreau",
    "sophie": "sophie.petit",
    "dr_martin": "dr.martin",
    "pharmacien_leroy": "pharmacien.leroy",
    "kine_bernard": "kine.bernard",
    "agent_cpam": "agent.cpam",
    "agent_france_services": "agent.franceservices",
    "agent_superviseur": "agent.superviseur",
}


@pytest.fixture(autouse=True)
def _fhir_responses_validated(monkeypatch):
    """Every FHIR JSON response of the test (test client or live server) is valid R4 for FHIR.js."""
    import json as json_module

    from django.core.handlers.base import BaseHandler

    from tests.fhir_validator import shared_validator

    seen = []
    original = BaseHandler.get_response

    def get_response(handler, http_request):
        response = original(handler, http_request)
        if response.get("Content-Type", "").startswith("application/fhir+json") and response.content:
            seen.append((f"{http_request.method} {http_request.get_full_path()}", response.content))
        return response

    monkeypatch.setattr(BaseHandler, "get_response", get_response)
    yield seen
    if not seen:
        return
    validator = shared_validator()
    problems = []
    for where, body in seen:
        errors = validator.errors(json_module.loads(body))
        if errors:
            problems.append(f"{where}: {errors[:5]}")
    assert problems == [], "FHIR responses that are not valid R4:\n" + "\n".join(problems)


@pytest.fixture(autouse=True)
def _isolated_cache():
    """Throttling counters and sessions live in Redis: each test starts from none of its own keys."""
    yield
    client = cache._cache.get_client(write=True) if hasattr(cache, "_cache") else None
    if client is None:
        return
    prefix = settings.CACHES["default"].get("KEY_PREFIX", "")
    for key in client.scan_iter(match=f"{prefix}:*"):
        client.delete(key)


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def personas(db):
    return seed()


def totp_now(user, *, offset_steps: int = 0) -> str:
    """The code the user's authenticator app shows now (or `offset_steps` later)."""
    device = user.totpdevice_set.get(confirmed=True)
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + offset_steps * device.step
    return f"{totp.token():0{device.digits}d}"


def login_patient(client: Client, username: str, mailoutbox) -> None:
    """Password, then the e-mailed code — exactly what a person does."""
    response = client.post(reverse("accounts:login"), {"identifiant": username, "password": DEMO_PASSWORD})
    assert response.status_code == 302, response.content.decode()[:500]
    client.get(reverse("accounts:login_otp"))
    code = mailoutbox[-1].body.split("connexion à Mon espace santé : ")[1][:6]
    response = client.post(reverse("accounts:login_otp"), {"token": code})
    assert response.status_code == 302


def login_with_totp(client: Client, user, *, portal: str) -> None:
    login_url, otp_url = {
        "patient": ("accounts:login", "accounts:login_otp"),
        "pro": ("accounts:pro_login", "accounts:pro_login_otp"),
    }[portal]
    response = client.post(reverse(login_url), {"identifiant": user.username, "password": DEMO_PASSWORD})
    assert response.status_code == 302
    response = client.post(reverse(otp_url), {"token": totp_now(user)})
    assert response.status_code == 302, response.content.decode()[:800]


def login_agent(client: Client, user) -> None:
    response = client.post(
        reverse("admin:login"),
        {"username": user.username, "password": DEMO_PASSWORD, "otp_token": totp_now(user), "next": "/admin/"},
    )
    assert response.status_code == 302, response.content.decode()[:800]


def agent_finds(client: Client, patient) -> None:
    """The agent searches the person by NIR: the back-office opens a person's pages only once found."""
    response = client.get(reverse("admin:accounts_patient_changelist"), {"q": patient.nir})
    assert response.status_code == 200
    assert reverse("admin:accounts_patient_change", args=[patient.pk]) in response.content.decode()


@pytest.fixture
def login_as(personas, mailoutbox):
    """login_as(client, "camille") logs a persona in through the real two-step flow."""
    from accounts.models import User

    def _login(client: Client, persona: str) -> None:
        if persona == "anonymous":
            return
        user = User.objects.get(username=PERSONA_USERS[persona])
        if user.kind == "agent":
            login_agent(client, user)
        elif user.kind == "professional":
            login_with_totp(client, user, portal="pro")
        elif user.totpdevice_set.filter(confirmed=True).exists():
            login_with_totp(client, user, portal="patient")
        else:
            login_patient(client, user.username, mailoutbox)

    return _login


# --- People informed by a campaign, with a valid provisional code -----------------------------------------
SERIAL = "80250000021112223334"


@pytest.fixture
def informed(db):
    """An adult informed today, with a valid code: returns (patient, clear code)."""

    def make(*, email="jeanne.martin@example.org", order=1, holder=None, birth=datetime.date(1990, 4, 2)):
        patient = Patient.objects.create(
            nir=nir_for(sex=2, year=birth.year, month=birth.month, order=order),
            birth_name="Martin",
            first_names="Jeanne Alice",
            birth_date=birth,
            sex=Sex.FEMALE,
            birth_place_insee="31555",
            email=email,
            phone="0611223344",
            address_line="3 place du Capitole",
            postal_code="31000",
            city="Toulouse",
            vitale_card_type=VitaleCardType.WITH_PHOTO if holder is None else "",
            vitale_serial=SERIAL if holder is None else "",
            card_holder=holder,
        )
        HealthSpace.objects.create(patient=patient, informed_at=timezone.now())
        _, code = code_issue(patient=patient, channel=CodeChannel.EMAIL)
        return patient, code

    return make


os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop


@pytest.fixture
def session_as(personas):
    """A quick equivalent of login_as for the big matrices: a session as the two-step login leaves it
    (user logged in, second-factor device recorded, login time set). The real flow is tested elsewhere."""
    from django.contrib.auth import SESSION_KEY

    from accounts.models import EmailOTPDevice, TOTPDevice, User
    from espace_sante.access.middleware import SESSION_LOGIN_AT, SESSION_SEEN_AT

    def _login(client: Client, persona) -> None:
        """`persona`: a key of PERSONA_USERS, or a User built by the test."""
        if persona == "anonymous":
            return
        user = persona if isinstance(persona, User) else User.objects.get(username=PERSONA_USERS[persona])
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        if device is None:
            device, _ = EmailOTPDevice.objects.get_or_create(user=user, defaults={"name": "e-mail", "confirmed": True})
        client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
        session = client.session
        session["otp_device_id"] = device.persistent_id
        session[SESSION_LOGIN_AT] = session[SESSION_SEEN_AT] = time.time()
        session.save()
        assert session[SESSION_KEY] == str(user.pk)

    return _login
