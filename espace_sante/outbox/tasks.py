from celery import shared_task


@shared_task(acks_late=True, reject_on_worker_lost=True)
def deliver_outbox_task() -> int:
    """Deliver queued messages. Safe to run many times at once: rows are claimed before sending."""
    from espace_sante.outbox.services import outbox_flush

    return outbox_flush()
