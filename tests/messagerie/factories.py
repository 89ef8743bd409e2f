"""Helpers for the messagerie tests: actors and conversations made through the services."""

import uuid

from dossier.files import CheckedFile
from espace_sante.access.actor import Actor
from messagerie import services

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def actor_for(person, *, acting_for=None) -> Actor:
    """A verified actor for a professional or a patient persona (optionally acting for a represented one)."""
    return Actor.for_user(person.user, verified=True, acting_for_id=acting_for.pk if acting_for else None)


def pdf_file(name: str = "compte-rendu.pdf", content: bytes = PDF) -> CheckedFile:
    return CheckedFile(content=content, content_type="application/pdf", filename=name)


def start(professional, patient, *, subject="Vos résultats", body="Bonjour, voici vos résultats.", **extra):
    return services.conversation_start(
        patient=patient,
        professional=professional,
        subject=subject,
        body=body,
        by=actor_for(professional),
        client_token=uuid.uuid4(),
        **extra,
    )


def reply(conversation, by: Actor, body="Merci docteur.", **extra):
    return services.message_send(conversation=conversation, body=body, by=by, client_token=uuid.uuid4(), **extra)
