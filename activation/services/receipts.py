"""Opposition and closure receipts: rendered once by a task, stored encrypted, e-mailed when possible."""

from django.core.files.base import ContentFile
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from activation.enums import OppositionChannel
from activation.models import Closure, Opposition
from activation.services.enrolment import card_holder
from espace_sante.crypto.storage import encrypted_storage
from espace_sante.outbox.services import email_enqueue
from espace_sante.pdf import render_pdf


def _store(name: str, pdf: bytes) -> str:
    storage = encrypted_storage()
    if storage.exists(name):
        storage.delete(name)
    return storage.save(name, ContentFile(pdf))


def opposition_receipt_context(opposition: Opposition) -> dict:
    patient = opposition.space.patient
    return {
        "opposition": opposition,
        "patient": patient,
        "holder": card_holder(patient),
        "recorded_at": timezone.localtime(opposition.recorded_at),
        "by_agent": opposition.channel in (OppositionChannel.PHONE, OppositionChannel.DESK),
    }


def _locked(model, pk: int):
    """The row, locked until the end of the transaction; None when another worker holds it (it renders this
    receipt now; if it dies, PostgreSQL frees the row and the sweeper queues the receipt again)."""
    return model.objects.select_for_update(skip_locked=True, of=("self",)).filter(pk=pk).first()


def opposition_receipt_render(*, opposition_id: int) -> None:
    """Render and store the receipt, then e-mail it to the card holder once. Safe to run twice, or at once.

    The receipt's name and its e-mail commit together: a worker that dies in between leaves the receipt
    missing (receipt_name is empty), so the sweeper redoes both. The file is written under a fixed name while
    the row is locked: a retry replaces an uncommitted file, never adds a second one.
    """
    with transaction.atomic():
        opposition = _locked(Opposition, opposition_id)
        if opposition is None:
            return
        if not opposition.receipt_name:
            context = opposition_receipt_context(opposition)
            name = _store(
                f"recus/opposition-{opposition.public_id}.pdf",
                render_pdf("activation/pdf/opposition_receipt.html", context),
            )
            Opposition.objects.filter(pk=opposition.pk).update(receipt_name=name)
            opposition.receipt_name = name
        holder = card_holder(opposition.space.patient)
        if holder.email:
            context = opposition_receipt_context(opposition)
            email_enqueue(
                to=holder.email,
                subject="Votre justificatif d’opposition à Mon espace santé",
                body=render_to_string("emails/activation/opposition_receipt.txt", context),
                dedupe_key=f"opposition-receipt:{opposition.public_id}",
                attachment_name=opposition.receipt_name,
                attachment_filename=f"justificatif-opposition-{opposition.reference}.pdf",
            )


def closure_receipt_render(*, closure_id: int) -> None:
    """Render and store the closure receipt once; the row is locked while its file is written (see above)."""
    with transaction.atomic():
        closure = _locked(Closure, closure_id)
        if closure is None or closure.receipt_name:
            return
        patient = closure.space.patient
        context = {
            "closure": closure,
            "patient": patient,
            "closed_at": timezone.localtime(closure.closed_at),
            "archive_until": timezone.localdate(closure.space.archive_until or closure.closed_at),
        }
        name = _store(
            f"recus/cloture-{closure.public_id}.pdf", render_pdf("activation/pdf/closure_receipt.html", context)
        )
        Closure.objects.filter(pk=closure.pk).update(receipt_name=name)


def receipt_bytes(name: str) -> bytes:
    with encrypted_storage().open(name) as handle:
        return handle.read()
