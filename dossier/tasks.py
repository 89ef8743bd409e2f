from celery import shared_task


@shared_task(acks_late=True, reject_on_worker_lost=True)
def held_results_notice_task() -> int:
    """Daily: tell patients whose held result waits for two weeks to see their doctor (R.1111-53)."""
    from dossier.services import held_results_process

    return held_results_process()
