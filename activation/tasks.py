"""Thin Celery tasks: ids in, a service call. Late acknowledgement; each task is safe to run twice."""

from celery import shared_task


@shared_task(acks_late=True, reject_on_worker_lost=True)
def render_opposition_receipt_task(opposition_id: int) -> None:
    from activation.services.receipts import opposition_receipt_render

    opposition_receipt_render(opposition_id=opposition_id)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def render_closure_receipt_task(closure_id: int) -> None:
    from activation.services.receipts import closure_receipt_render

    closure_receipt_render(closure_id=closure_id)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def process_campaign_chunk_task(chunk_id: int) -> None:
    """Generate codes and messages for one chunk, in one transaction. A retry after a crash redoes the
    chunk from scratch (nothing was committed) or finds it done (everything was)."""
    from activation.services.campaign import campaign_chunk_process

    campaign_chunk_process(chunk_id=chunk_id)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def open_unopposed_spaces_task() -> int:
    """Daily: open the spaces of people informed six weeks ago who did not oppose."""
    from activation.services.spaces import spaces_open_unopposed

    return spaces_open_unopposed()


@shared_task(acks_late=True, reject_on_worker_lost=True)
def process_deletions_task() -> int:
    from activation.services.spaces import deletions_process

    return deletions_process()


@shared_task(acks_late=True, reject_on_worker_lost=True)
def purge_archives_task() -> int:
    """Delete archives ten years after closure (R.1111-36)."""
    from activation.services.spaces import archives_purge

    return archives_purge()


@shared_task(acks_late=True, reject_on_worker_lost=True)
def resume_campaign_chunks_task() -> int:
    """Re-queue chunks left pending or stuck by a dead worker, and finish their print files."""
    from activation.services.campaign import campaign_resume

    return campaign_resume()


@shared_task(acks_late=True, reject_on_worker_lost=True)
def render_batch_proof_task(chunk_id: int) -> None:
    from activation.services.campaign import batch_proof_render

    batch_proof_render(chunk_id=chunk_id)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def sweep_missing_receipts_task() -> int:
    """Every few minutes: receipts whose rendering was never queued (broker down) or was lost are redone."""
    from datetime import timedelta

    from django.utils import timezone

    from activation.models import Closure, Opposition

    cutoff = timezone.now() - timedelta(minutes=2)
    count = 0
    for pk in Opposition.objects.filter(receipt_name="", recorded_at__lt=cutoff).values_list("pk", flat=True)[:500]:
        render_opposition_receipt_task.delay(pk)
        count += 1
    for pk in Closure.objects.filter(receipt_name="", closed_at__lt=cutoff).values_list("pk", flat=True)[:500]:
        render_closure_receipt_task.delay(pk)
        count += 1
    return count


@shared_task(acks_late=True, reject_on_worker_lost=True)
def send_requested_code_task(patient_id: int) -> None:
    from activation.services.enrolment import requested_code_send

    requested_code_send(patient_id=patient_id)
