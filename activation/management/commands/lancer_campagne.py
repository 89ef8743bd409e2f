import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from activation.enums import RunStatus
from activation.models import CampaignRun
from activation.services.campaign import (
    DEFAULT_CHUNK_SIZE,
    CampaignAlreadyRunning,
    campaign_report,
    campaign_resume,
    campaign_start,
    print_dir,
)


class Command(BaseCommand):
    help = (
        "Inform every eligible person with no space: one six-week provisional code each, by e-mail or letter. "
        "Rerunning it after a crash resumes the unfinished campaign: nothing is sent twice, nothing lost."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--departements", help="comma-separated département codes, e.g. 31,44,80")
        parser.add_argument("--limite", type=int, help="inform at most N people")
        parser.add_argument("--pdf", action="store_true", help="also render whole print batches as PDF (small runs)")
        parser.add_argument("--taille-lot", type=int, default=DEFAULT_CHUNK_SIZE, help="people per chunk")
        parser.add_argument("--sans-attendre", action="store_true", help="queue the chunks and return at once")

    def handle(self, *args, departements, limite, pdf, taille_lot, sans_attendre, **options) -> None:
        running = CampaignRun.objects.filter(status=RunStatus.RUNNING).first()
        if running is not None:
            self.stdout.write(f"Resuming the unfinished campaign started {running.started_at:%Y-%m-%d %H:%M}.")
            campaign_resume()
            run = running
        else:
            codes = [code.strip().upper() for code in (departements or "").split(",") if code.strip()]
            try:
                run = campaign_start(departements=codes, limit=limite, render_pdf_letters=pdf, chunk_size=taille_lot)
            except CampaignAlreadyRunning:
                raise CommandError("Another campaign is being started; run the command again to resume it.") from None
        if not sans_attendre and not settings.CELERY_TASK_ALWAYS_EAGER:
            self._wait(run)
        self._report(run)

    def _wait(self, run: CampaignRun) -> None:
        total = run.chunks.count() or 1
        while True:
            done = total - campaign_report(run).pending_chunks
            sys.stderr.write(f"\r[{'#' * int(30 * done / total):<30}] {done}/{total} chunks")
            sys.stderr.flush()
            run.refresh_from_db(fields=["status"])
            if run.status == RunStatus.DONE:  # every batch published, not only every chunk committed
                sys.stderr.write("\n")
                return
            time.sleep(1)

    def _report(self, run: CampaignRun) -> None:
        report = campaign_report(run)
        self.stdout.write(
            f"Campaign {run.public_id}: {report.people} people, {report.emails} e-mails, {report.letters} letters, "
            f"{report.skipped} skipped, {report.pending_chunks} chunks pending"
        )
        if report.letters:
            self.stdout.write(f"Print files: {print_dir(run)}")
