import datetime
import uuid

from django.core.files.base import ContentFile

from dossier.enums import AuthorKind, DocumentCategory
from dossier.models import Document
from espace_sante.crypto.storage import encrypted_storage

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def make_document(
    patient,
    *,
    title="Compte rendu de consultation",
    category=DocumentCategory.COMPTES_RENDUS,
    author=None,
    hidden=False,
    hidden_from_representatives=False,
    content=PDF,
    care_date=datetime.date(2026, 1, 15),
    content_type="application/pdf",
    original_filename="document.pdf",
    **extra,
):
    public_id = uuid.uuid4()
    name = encrypted_storage().save(f"documents/{patient.public_id}/{public_id}", ContentFile(content))
    return Document.objects.create(
        public_id=public_id,
        patient=patient,
        title=title,
        category=category,
        care_date=care_date,
        author_kind=AuthorKind.PROFESSIONAL if author else AuthorKind.PATIENT,
        author_professional=author,
        file_name=name,
        content_type=content_type,
        size=len(content),
        original_filename=original_filename,
        hidden_from_professionals=hidden,
        hidden_from_representatives=hidden_from_representatives,
        **extra,
    )
