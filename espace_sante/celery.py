"""The Celery application: Redis broker, JSON only, late acknowledgement, schedule in code."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "espace_sante.settings.dev")

app = Celery("espace_sante", task_cls="celery.contrib.django.task:DjangoTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# The periodic schedule lives here, reviewed and versioned with the code. Each entry names a
# registered task (tests/test_consistency.py checks it). Entries are added by the apps' issues.
app.conf.beat_schedule = {
    # Every minute: deliver messages whose queueing was missed (broker down) or whose worker died.
    "deliver-outbox": {"task": "espace_sante.outbox.tasks.deliver_outbox_task", "schedule": 60.0},
}
