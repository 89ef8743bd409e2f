from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods


@login_not_required
@require_http_methods(["GET"])
def start(request: HttpRequest) -> HttpResponse:
    """Explains how to activate or oppose; the code form arrives with the activation issue."""
    return render(request, "activation/start.html", {"title": "Activer ou m’opposer"})
