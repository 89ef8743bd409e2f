import sys
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from activation.services.registry import RowError, registry_import


class Command(BaseCommand):
    help = "Import (upsert by NIR) the registry of insured people from a CSV file; rejected rows go to a report."

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--rejets", type=Path, help="report of rejected rows (default: FILE.rejets.csv)")

    def handle(self, *args, file: Path, rejets: Path | None, **options) -> None:
        if not file.is_file():
            raise CommandError(f"{file}: no such file")
        size = file.stat().st_size or 1
        started = time.monotonic()

        def progress(position: int) -> None:
            done = min(position / size, 1.0)
            bar = "#" * int(done * 30)
            elapsed = time.monotonic() - started
            sys.stderr.write(f"\r[{bar:<30}] {done:6.1%}  {elapsed:6.1f} s")
            sys.stderr.flush()

        try:
            report = registry_import(path=file, rejects_path=rejets, progress=progress)
        except RowError as error:
            raise CommandError(str(error)) from None
        elapsed = time.monotonic() - started
        sys.stderr.write(f"\r[{'#' * 30}] 100.0%  {elapsed:6.1f} s\n")
        rate = report.read / elapsed if elapsed else 0
        self.stdout.write(
            f"{report.read} rows read in {elapsed:.1f} s ({rate:,.0f} rows/s): {report.valid} valid "
            f"({report.created} created, {report.updated} updated), {report.rejected} rejected"
        )
        self.stdout.write(
            f"{report.attached} card attachments changed, {report.representations} parental links created"
        )
        for reason, count in sorted(report.reasons.items(), key=lambda item: -item[1]):
            self.stdout.write(f"  rejected: {count} × {reason}")
        if report.rejected:
            self.stdout.write(f"Rejected rows and reasons: {report.rejects_path}")
