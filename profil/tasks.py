from celery import shared_task


@shared_task(acks_late=True, reject_on_worker_lost=True)
def synthesis_generate_task(patient_id: int, user_id: int, sections: list[str]) -> str | None:
    """Render a health profile synthesis into the patient's documents (ids and section keys in)."""
    from profil.services import synthesis_finished, synthesis_generate

    try:
        document = synthesis_generate(patient_id=patient_id, user_id=user_id, sections=sections)
    finally:
        synthesis_finished(user_id=user_id)
    return str(document.public_id) if document else None
