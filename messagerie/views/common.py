"""Helpers shared by both sides of the messagerie."""

from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_http_methods

from espace_sante.access import policy
from messagerie import services

PAGE_SIZE = 20
MAX_SEARCH_WORDS = 5


def words_filter(query: str, fields: tuple[str, ...]) -> Q:
    """Every word must appear in one of `fields` (subject or correspondent)."""
    condition = Q()
    for word in query.split()[:MAX_SEARCH_WORDS]:
        any_field = Q()
        for field in fields:
            any_field |= Q(**{f"{field}__icontains": word})
        condition &= any_field
    return condition


@require_http_methods(["GET"])
def attachment(request: HttpRequest, public_id) -> HttpResponse:
    """Download an attachment: the conversation's participants only (the policy decides, 404 otherwise)."""
    attachment_ = policy.attachment_for(request.actor, public_id)
    response = HttpResponse(services.attachment_content(attachment_), content_type=attachment_.content_type)
    filename = attachment_.original_filename.replace('"', "").replace("\\", "")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    # Whatever the file was crafted to do, it runs nothing and loads nothing.
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response["X-Content-Type-Options"] = "nosniff"
    return response
