"""The Celery application: Redis broker, JSON only, late acknowledgement, schedule in code."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "espace_sante.settings.dev")

app = Celery("espace_sante", task_cls="celery.contrib.django.task:DjangoTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# The periodic schedule lives here, reviewed and versioned with the code. Each entry names a
# registered task (tests/test_consistency.py checks it). Entries are added by the apps' issues.
from celery.schedules import crontab  # noqa: E402

app.conf.beat_schedule = {
    # 02:15 every night — https://crontab.guru/#15_2_*_*_*
    "open-unopposed-spaces": {
        "task": "activation.tasks.open_unopposed_spaces_task",
        "schedule": crontab(hour=2, minute=15),
    },
    # 03:00 every night: deletion requests (R.1111-36 allows three months; we do them the next night)
    "process-deletions": {"task": "activation.tasks.process_deletions_task", "schedule": crontab(hour=3, minute=0)},
    # 03:30 every night: archives closed ten years ago
    "purge-archives": {"task": "activation.tasks.purge_archives_task", "schedule": crontab(hour=3, minute=30)},
    # 08:00 every day: held results waiting for two weeks (R.1111-53)
    "held-results-notice": {"task": "dossier.tasks.held_results_notice_task", "schedule": crontab(hour=8, minute=0)},
    # --- profil schedule ---
    # --- messagerie schedule ---
    # --- agenda schedule ---
    # Every 15 minutes: agenda reminders (the day before from 18:00, the same day from 07:00, Paris time)
    "agenda-reminders": {"task": "agenda.tasks.send_agenda_reminders_task", "schedule": crontab(minute="*/15")},
    # --- catalogue schedule ---
    # 09:00 every day: minors' connections to confirm after 18, 90-day list of connected services
    "catalogue-connections-daily": {
        "task": "catalogue.tasks.connections_daily_task",
        "schedule": crontab(hour=9, minute=0),
    },
    # Every five minutes: receipts whose rendering was never queued (broker down) or was lost
    "sweep-missing-receipts": {"task": "activation.tasks.sweep_missing_receipts_task", "schedule": 300.0},
    # Every five minutes: campaign chunks whose worker died, print files left unpublished
    "resume-campaign-chunks": {"task": "activation.tasks.resume_campaign_chunks_task", "schedule": 300.0},
    # Every minute: deliver messages whose queueing was missed (broker down) or whose worker died.
    "deliver-outbox": {"task": "espace_sante.outbox.tasks.deliver_outbox_task", "schedule": 60.0},
}
