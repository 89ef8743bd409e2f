"""Session lifetime, in real seconds: idle expiry, activity pushing it back, and the absolute limit.

The settings are shortened (seconds instead of 30 minutes and 12 hours); the mechanism is the production one:
the session's expiry lives in Redis and PostgreSQL, and activity renews it at most every
SESSION_REFRESH_SECONDS instead of writing the session on every request.
"""

import time

import pytest
from django.contrib.sessions.models import Session
from django.urls import reverse

from tests.conftest import login_patient

pytestmark = pytest.mark.django_db


@pytest.fixture
def short_sessions(settings):
    settings.SESSION_COOKIE_AGE = 3
    settings.SESSION_REFRESH_SECONDS = 1


def _dashboard(client) -> int:
    return client.get(reverse("accounts:dashboard")).status_code


def test_an_idle_session_ends(client, personas, mailoutbox, short_sessions):
    login_patient(client, "camille.lefevre", mailoutbox)
    assert _dashboard(client) == 200
    time.sleep(3.5)
    response = client.get(reverse("accounts:dashboard"))
    assert response.status_code == 302 and reverse("accounts:login") in response["Location"]


def test_activity_keeps_the_session_alive_without_writing_it_on_every_request(
    client, personas, mailoutbox, short_sessions
):
    login_patient(client, "camille.lefevre", mailoutbox)
    started = time.monotonic()
    while time.monotonic() - started < 6:  # twice the idle lifetime
        time.sleep(1.4)
        assert _dashboard(client) == 200
    # Within the refresh interval a page does not write the session (no UPDATE of django_session).
    session_key = client.cookies["sessionid"].value
    expiry = Session.objects.get(session_key=session_key).expire_date
    assert _dashboard(client) == 200
    assert Session.objects.get(session_key=session_key).expire_date == expiry


def test_the_absolute_lifetime_ends_even_an_active_session(client, personas, mailoutbox, settings):
    settings.SESSION_ABSOLUTE_SECONDS = 2
    login_patient(client, "camille.lefevre", mailoutbox)
    assert _dashboard(client) == 200
    time.sleep(1.2)
    assert _dashboard(client) == 200
    time.sleep(1.2)
    response = client.get(reverse("accounts:dashboard"), follow=True)
    assert response.redirect_chain and "Votre session a expiré" in response.content.decode()
