"""A shared document opened by anyone with the link: that document only, for a limited time, traced."""

from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from dossier import services
from dossier.views.patient import shown_response
from espace_sante.access import policy


def _open(request: HttpRequest, token: str):
    link = policy.share_link_for_token(token)
    if not services.share_open(link=link, by=request.actor):
        return None
    return link


@login_not_required
@require_http_methods(["GET"])
def share_page(request: HttpRequest, token: str) -> HttpResponse:
    link = policy.share_link_for_token(token)
    if not link.is_usable:
        services.share_open(link=link, by=request.actor)  # traced as a refused opening
        return render(request, "dossier/share_expired.html", {"title": "Lien expiré"}, status=410)
    context = {"title": "Document partagé", "link": link, "document": link.document, "token": token}
    return render(request, "dossier/share_page.html", context)


@login_not_required
@require_http_methods(["GET"])
def share_file(request: HttpRequest, token: str) -> HttpResponse:
    link = _open(request, token)
    if link is None:
        raise Http404
    return shown_response(request, link.document)
