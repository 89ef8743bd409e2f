"""Demo conversations for Camille (and one for Léo, read by his father Julien). Idempotent."""

import uuid

from accounts.demo import Personas
from dossier.files import CheckedFile
from espace_sante.access.actor import Actor
from espace_sante.pdf import render_pdf
from messagerie import services

DEMO_NAMESPACE = uuid.UUID("6a0c7c51-2a4e-4b4e-9d55-6b6f6d657373")


def _token(name: str) -> uuid.UUID:
    return uuid.uuid5(DEMO_NAMESPACE, name)


def _pro(professional) -> Actor:
    return Actor.for_user(professional.user, verified=True)


def _patient(patient) -> Actor:
    return Actor.for_user(patient.user, verified=True)


def _once(call, **kwargs):
    try:
        return call(**kwargs)
    except services.AlreadySent as sent:
        return sent.conversation


def seed_demo(personas: Personas) -> None:
    martin, kine = personas.dr_martin, personas.kine_bernard
    camille = personas.camille

    prescription = CheckedFile(
        content=render_pdf("messagerie/pdf/demo_prescription.html", {"professional": martin, "patient": camille}),
        content_type="application/pdf",
        filename="ordonnance-bilan-sanguin.pdf",
    )
    blood = _once(
        services.conversation_start,
        patient=camille,
        professional=martin,
        subject="Ordonnance pour votre bilan sanguin",
        body=(
            "Bonjour Madame Lefèvre,\n\nComme convenu lors de la consultation, voici l’ordonnance pour votre "
            "bilan sanguin. Il est à faire à jeun, dans les quinze jours.\n\nBien cordialement,\nDr Anne Martin"
        ),
        files=[prescription],
        by=_pro(martin),
        client_token=_token("camille-blood-1"),
    )
    _once(
        services.message_send,
        conversation=blood,
        body="Bonjour Docteur,\n\nMerci, je passe au laboratoire jeudi matin.\n\nCamille Lefèvre",
        by=_patient(camille),
        client_token=_token("camille-blood-2"),
    )
    _once(
        services.message_send,
        conversation=blood,
        body="Parfait. Je vous recontacterai dès réception des résultats.\n\nDr Anne Martin",
        by=_pro(martin),
        client_token=_token("camille-blood-3"),
    )

    kine_conversation = _once(
        services.conversation_start,
        patient=camille,
        professional=kine,
        subject="Fin de vos séances de rééducation",
        body=(
            "Bonjour,\n\nVos dix séances de rééducation du genou sont terminées. Continuez les exercices "
            "d’étirement deux fois par semaine.\n\nLucie Bernard, masseur-kinésithérapeute"
        ),
        files=[
            CheckedFile(
                content="Étirements des ischio-jambiers : 3 × 30 secondes, deux fois par semaine.\n".encode(),
                content_type="text/plain",
                filename="exercices.txt",
            )
        ],
        by=_pro(kine),
        client_token=_token("camille-kine-1"),
    )
    if not kine_conversation.is_ended:
        services.conversation_end(conversation=kine_conversation, by=_pro(kine))

    _once(
        services.conversation_start,
        patient=personas.leo,
        professional=martin,
        subject="Rappel du vaccin de Léo",
        body="Bonjour,\n\nLe rappel de vaccin de Léo est à prévoir avant la rentrée.\n\nDr Anne Martin",
        by=_pro(martin),
        client_token=_token("leo-vaccine-1"),
    )
