from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from dossier.services import reimbursements_import


class Command(BaseCommand):
    help = (
        "Import reimbursement lines (nir, date, nature, libelle, prescripteur, executant, quantite, code_cip "
        "[, secret]) into the history of care. A line already imported is skipped."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", type=Path)

    def handle(self, *args, file: Path, **options) -> None:
        if not file.is_file():
            raise CommandError(f"{file}: no such file")
        rejects = file.with_name(file.name + ".rejets.csv")
        try:
            report = reimbursements_import(path=file, rejects_path=rejects)
        except ValidationError as error:
            raise CommandError(error.messages[0]) from None
        self.stdout.write(f"{report.read} lines read, {report.imported} imported, {report.rejected} rejected")
        if report.rejected:
            self.stdout.write(f"Rejected lines: {rejects}")
