"""Helpers to confirm one's identity before a guarded page, as a person does it or quickly."""

import time

from django.test import Client
from django.urls import reverse

from accounts.demo import DEMO_PASSWORD
from espace_sante.access.decorators import SESSION_REAUTHENTICATED_AT


def reauthenticate(client: Client, user, mailoutbox=None, *, next_url: str = "") -> None:
    """Password, then the e-mailed code (or the app's code when the person has one) on the real page."""
    from accounts.models import TOTPDevice
    from tests.conftest import totp_now

    url = reverse("accounts:reauthenticate") + (f"?next={next_url}" if next_url else "")
    response = client.post(url, {"password": DEMO_PASSWORD})
    assert response.status_code == 302, response.content.decode()[:500]
    if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        TOTPDevice.objects.filter(user=user).update(last_t=-1)  # as if the login's code step had passed
        token = totp_now(user)
    else:
        client.get(url)  # sends the code
        token = mailoutbox[-1].body.split("Mon espace santé : ")[1][:6]
    response = client.post(url, {"token": token})
    assert response.status_code == 302, response.content.decode()[:800]


def mark_recently_authenticated(client: Client) -> None:
    """The session as the re-authentication page leaves it (the page itself is tested elsewhere)."""
    session = client.session
    session[SESSION_REAUTHENTICATED_AT] = time.time()
    session.save()
