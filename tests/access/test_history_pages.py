"""Roles × history pages: every history page and tab, as the parent of a child with secrets and as a patient
with a result held for announcement, over the world of tests/access/scenarios.py.

The world's secrets were made through the services, as in real life: Dr Martin added a document kept from
Léo's representatives and a result held for Camille (R.1111-53), started a confidential conversation with
Léo and answered in it without ticking "confidentiel". Their titles, subjects and bodies are secret markers.
No history page may show a marker or a line about those objects to whom they are hidden, and no e-mail of
the outbox may tell of them.
"""

import pytest
from django.urls import get_resolver, reverse

from dossier.models import Document
from dossier.views.patient import TABS
from espace_sante.outbox.models import OutboxMessage
from messagerie.models import Message
from tests.access import test_every_method
from tests.access.scenarios import World, client_for

# The world of test_every_method (built once for this module too) and its media root.
world = test_every_method.world
_media_root = test_every_method._media_root

pytestmark = pytest.mark.django_db

# Every page of the patient portal that shows a history, each with its tabs.
HISTORY_PAGES = {
    "dossier:access_history": [f"?onglet={tab}" for tab in TABS] + ["", "?onglet=inconnu", "?page=2"],
    "dossier:history_of_care": [""],
}
STARTED = "a démarré une conversation dans la messagerie"
SENT = "a envoyé un message dans la messagerie"
ADDED = "a ajouté un document"


def test_every_history_page_is_listed():
    """A new history page (its address says "historique") must be added to HISTORY_PAGES."""
    names = set()

    def walk(patterns, namespace="", route=""):
        for pattern in patterns:
            if hasattr(pattern, "url_patterns"):
                ns = pattern.namespace or ""
                if ns != "admin":  # agents never read a history (espace_sante/audit/admin.py)
                    walk(pattern.url_patterns, f"{namespace}{ns}:" if ns else namespace, route + str(pattern.pattern))
            elif pattern.name and "histor" in route + str(pattern.pattern):
                names.add(f"{namespace}{pattern.name}")

    walk(get_resolver().url_patterns)
    assert names == set(HISTORY_PAGES)


def _pages(world: World, scenario: str, *, owner: str = "camille") -> dict[str, str]:
    client = client_for(world, scenario, owner=owner)
    pages = {}
    for name, queries in HISTORY_PAGES.items():
        for query in queries:
            response = client.get(reverse(name) + query)
            assert response.status_code == 200, (scenario, name, query, response.status_code)
            pages[f"{name}{query}"] = response.content.decode()
    return pages


def _assert_no_marker(pages: dict[str, str], markers: list[str], who: str) -> None:
    assert markers
    for where, html in pages.items():
        for secret in markers:
            assert secret not in html, f"{where} as {who} shows {secret}"


@pytest.mark.parametrize("scenario", ["representative", "representative_hidden"])
def test_the_parent_sees_no_trace_of_the_childs_secrets(world, scenario):
    pages = _pages(world, scenario)
    _assert_no_marker(pages, world.leo_hidden_markers + world.held_markers + world.camille_markers, scenario)
    professionals = pages["dossier:access_history?onglet=professionnels"]
    # Léo's lines from Dr Martin: the ordinary conversation and its first message only; nothing about the
    # confidential conversation, its messages, or the document kept from representatives.
    assert professionals.count(STARTED) == 1
    assert professionals.count(SENT) == 1
    assert professionals.count(ADDED) == 0


def test_the_patient_sees_no_trace_of_a_held_result(world):
    pages = _pages(world, "victim")
    _assert_no_marker(pages, world.held_markers + world.leo_markers + world.leo_hidden_markers, "camille")
    assert pages["dossier:access_history?onglet=professionnels"].count(ADDED) == 0


def test_the_parents_own_history_shows_nothing_of_the_child_either(world):
    pages = _pages(world, "victim", owner="julien")
    _assert_no_marker(pages, world.leo_hidden_markers + world.held_markers, "julien")


def test_no_email_tells_of_a_secret_or_a_held_result(world):
    p = world.personas
    secret = world.leo_hidden_markers + world.held_markers
    hidden_ids = [
        str(public_id) for public_id in Document.objects.filter(title__in=secret).values_list("public_id", flat=True)
    ]
    assert len(hidden_ids) == 3  # the secret made by hand, the one Dr Martin added, the held result
    confidential = [
        str(public_id)
        for public_id in Message.objects.filter(
            conversation__patient=p.leo, conversation__hidden_from_representatives=True
        ).values_list("public_id", flat=True)
    ]
    assert len(confidential) == 2  # the first message and the unflagged reply
    outbox = list(OutboxMessage.objects.all())
    assert outbox  # the world's ordinary messages did notify
    julien = p.julien.user.email
    for message in outbox:
        key = message.dedupe_key or ""
        assert not any(public_id in key for public_id in hidden_ids), key
        if message.recipient == julien:
            assert not any(public_id in key for public_id in confidential), key
        text = f"{message.subject}\n{message.body or ''}"
        for marker in world.camille_markers + world.leo_markers + secret:
            assert marker not in text
