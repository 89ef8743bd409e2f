"""deploy/backup.sh and deploy/restore.sh on real data: a restored copy has every row and every file, and its
encrypted documents and messages open with the same keys (and only with them).

Data is committed (transactional test) so pg_dump, another process, sees it. The scripts and the reader of
the restored copy run as subprocesses with an explicit environment, like an operator would run them.
"""

import datetime
import hashlib
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from psycopg import sql

from accounts.demo import seed
from dossier import services as dossier_services
from dossier.enums import DocumentCategory
from dossier.files import CheckedFile
from espace_sante.access.actor import Actor
from espace_sante.audit.actions import Action
from espace_sante.audit.log import record
from espace_sante.settings._fixed_keys import DEV_KEYS
from tests.messagerie.factories import actor_for, pdf_file, start

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parent.parent.parent
BACKUP = ROOT / "deploy" / "backup.sh"
RESTORE = ROOT / "deploy" / "restore.sh"
DOCUMENT = b"%PDF-1.4\n% ordonnance de test\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n" + os.urandom(2048)
BODY = "Bonjour, voici le compte rendu de votre consultation du 3 mars."

# Reads the restored copy with the keys of its environment; prints what it decrypted, as digests.
READ_BACK = """
import hashlib, json
from dossier.models import Document
from dossier.services import document_content
from messagerie.models import Attachment, Message
from messagerie.services import attachment_content
document = Document.objects.get(public_id="{document}")
message = Message.objects.get(pk={message})
attachment = Attachment.objects.get(message=message)
print(json.dumps({{
    "document": hashlib.sha256(document_content(document)).hexdigest(),
    "attachment": hashlib.sha256(attachment_content(attachment)).hexdigest(),
    "body": message.body,
}}))
"""


def _url(database: str) -> str:
    db = connection.settings_dict
    credentials = quote(db["USER"] or "postgres") + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{database}"


def _run(*command, env: dict[str, str]) -> subprocess.CompletedProcess:
    base = {"PATH": os.environ["PATH"], "LANG": "C.UTF-8"}
    return subprocess.run(command, env=base | env, capture_output=True, text=True, timeout=300, check=False)


def _row_counts(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
            ).fetchall()
        ]
        return {
            table: conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()[0]
            for table in tables
        }


def _files(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


@pytest.fixture
def fresh_database():
    """A database name nobody uses; dropped at the end whatever happened."""
    name = f"es_ops_restore_{uuid.uuid4().hex[:12]}"
    yield name
    with psycopg.connect(_url("postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _product_data():
    """Patients, an encrypted document, a message with an encrypted attachment, audit events: all committed."""
    personas = seed()
    camille = Actor.for_user(personas.camille.user, verified=True)
    document = dossier_services.document_add(
        patient=personas.camille,
        by=camille,
        file=CheckedFile(content=DOCUMENT, content_type="application/pdf", filename="ordonnance.pdf"),
        title="Ordonnance du 3 mars",
        category=DocumentCategory.ORDONNANCES,
        care_date=datetime.date(2026, 3, 3),
    )
    conversation = start(personas.dr_martin, personas.camille, body=BODY, files=[pdf_file()])
    record(Action.LOGOUT, actor=actor_for(personas.camille))
    return document, conversation.messages.get()


def test_a_backup_restores_every_row_and_file_and_decrypts_with_the_same_keys(tmp_path, fresh_database):
    document, message = _product_data()
    source = _url(connection.settings_dict["NAME"])
    media = Path(settings.MEDIA_ROOT)
    assert len(_files(media)) == 2  # the document and the attachment, sealed

    backup = _run(str(BACKUP), str(tmp_path / "backups"), env={"DATABASE_URL": source, "MEDIA_ROOT": str(media)})
    assert backup.returncode == 0, backup.stderr
    (backup_dir,) = (tmp_path / "backups").iterdir()
    assert sorted(p.name for p in backup_dir.iterdir()) == ["MANIFEST", "database.dump", "media.tar"]
    manifest = (backup_dir / "MANIFEST").read_text()
    assert "files\t2\n" in manifest
    assert DEV_KEYS["DATA_ENCRYPTION_KEYS"].split(":")[1] not in manifest
    for path in backup_dir.iterdir():  # the key ring is not in the backup, nor the document in clear
        content = path.read_bytes()
        assert DEV_KEYS["DATA_ENCRYPTION_KEYS"].split(":")[1].encode() not in content
        assert DOCUMENT[:40] not in content
        assert BODY.encode() not in content

    restored_media = tmp_path / "restored-media"
    restore = _run(
        str(RESTORE),
        str(backup_dir),
        fresh_database,
        str(restored_media),
        env={"DATABASE_URL": _url("postgres")},
    )
    assert restore.returncode == 0, restore.stdout + restore.stderr
    assert "restore: OK" in restore.stdout
    sys.stdout.write(backup.stdout + restore.stdout)  # sizes and times, shown with -s

    # Every table has the same number of rows, and the product's tables are not trivially empty.
    expected = _row_counts(source)
    assert _row_counts(_url(fresh_database)) == expected
    for table in ("accounts_patient", "dossier_document", "messagerie_message", "audit_auditevent"):
        assert expected[table] > 0, table
    # Every file is back, byte for byte (still sealed).
    assert _files(restored_media) == _files(media)

    # The product reads the restored copy with the same keys: same bytes, same message.
    script = READ_BACK.format(document=document.public_id, message=message.pk)
    env = {
        "DJANGO_SETTINGS_MODULE": "espace_sante.settings.test",
        "DATABASE_URL": _url(fresh_database),
        "MEDIA_ROOT": str(restored_media),
        "CACHE_KEY_PREFIX": "ops-restore",
        **DEV_KEYS,
    }
    read = _run(sys.executable, str(ROOT / "manage.py"), "shell", "-c", script, env=env)
    assert read.returncode == 0, read.stderr
    assert json.loads(read.stdout.strip().splitlines()[-1]) == {
        "document": hashlib.sha256(DOCUMENT).hexdigest(),
        "attachment": hashlib.sha256(pdf_file().content).hexdigest(),
        "body": BODY,
    }

    # With another key ring (the keys are not in the backup) nothing opens.
    other_ring = "other:" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVowMTIzNDU="
    read = _run(
        sys.executable, str(ROOT / "manage.py"), "shell", "-c", script, env=env | {"DATA_ENCRYPTION_KEYS": other_ring}
    )
    assert read.returncode != 0
    assert "DecryptionError" in read.stderr, read.stderr[-2000:]
    assert hashlib.sha256(DOCUMENT).hexdigest() not in read.stdout


def test_restore_refuses_a_non_empty_database_a_used_media_directory_and_a_damaged_archive(tmp_path):
    seed()
    source = _url(connection.settings_dict["NAME"])
    media = Path(settings.MEDIA_ROOT)
    media.mkdir(parents=True, exist_ok=True)
    backup = _run(str(BACKUP), str(tmp_path / "backups"), env={"DATABASE_URL": source, "MEDIA_ROOT": str(media)})
    assert backup.returncode == 0, backup.stderr
    (backup_dir,) = (tmp_path / "backups").iterdir()
    before = _row_counts(source)
    server = {"DATABASE_URL": _url("postgres")}

    # Into the very database it came from: it holds tables, so nothing is done.
    refused = _run(str(RESTORE), str(backup_dir), connection.settings_dict["NAME"], str(tmp_path / "m1"), env=server)
    assert refused.returncode == 1
    assert "not empty" in refused.stderr and "refusing to overwrite" in refused.stderr
    assert _row_counts(source) == before
    assert not (tmp_path / "m1").exists()

    name = f"es_ops_never_{uuid.uuid4().hex[:12]}"
    used = tmp_path / "used"
    used.mkdir()
    (used / "keep.txt").write_text("operator's file")
    refused = _run(str(RESTORE), str(backup_dir), name, str(used), env=server)
    assert refused.returncode == 1
    assert "not an empty directory" in refused.stderr
    assert (used / "keep.txt").read_text() == "operator's file"

    with (backup_dir / "database.dump").open("r+b") as dump:
        dump.seek(-1, os.SEEK_END)
        last = dump.read(1)
        dump.seek(-1, os.SEEK_END)
        dump.write(bytes([last[0] ^ 1]))
    refused = _run(str(RESTORE), str(backup_dir), name, str(tmp_path / "m2"), env=server)
    assert refused.returncode == 1
    assert "does not match its sha256" in refused.stderr
    with psycopg.connect(_url("postgres")) as conn:  # checked before anything was created
        assert conn.execute("SELECT count(*) FROM pg_database WHERE datname = %s", [name]).fetchone()[0] == 0
