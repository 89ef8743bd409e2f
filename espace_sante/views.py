from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from espace_sante.access.decorators import patient_required


@login_not_required
@require_http_methods(["GET"])
def home(request: HttpRequest) -> HttpResponse:
    if request.actor.is_verified_patient:
        return redirect("accounts:dashboard")
    return render(request, "home.html", {"title": "Accueil"})


def section(*, title: str, intro: str, template: str = "section.html"):
    """A patient section's entry page, until its app's issue fills it in."""

    @patient_required
    @require_http_methods(["GET"])
    def view(request: HttpRequest) -> HttpResponse:
        return render(request, template, {"title": title, "intro": intro, "profile": request.actor.acting_for})

    return view


@login_not_required
@require_http_methods(["GET", "HEAD"])
def health(request: HttpRequest) -> HttpResponse:
    """For load balancers: 200 when the database, cache, storage and keys answer, 503 otherwise. No detail
    beyond each dependency's state is given to an anonymous caller."""
    from django.http import JsonResponse

    from espace_sante.health import run_checks

    checks = run_checks()
    body = {"status": "ok" if all(c.ok for c in checks) else "degraded", "checks": {c.name: c.ok for c in checks}}
    return JsonResponse(body, status=200 if body["status"] == "ok" else 503)


@login_not_required
def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    context = {"title": "Formulaire expiré"}
    return render(request, "errors/csrf.html", context, status=403)


@login_not_required
def error_400(request: HttpRequest, exception=None) -> HttpResponse:
    return render(request, "400.html", {"title": "Requête invalide"}, status=400)


@login_not_required
def error_403(request: HttpRequest, exception=None) -> HttpResponse:
    return render(request, "403.html", {"title": "Accès refusé"}, status=403)


@login_not_required
def error_404(request: HttpRequest, exception=None) -> HttpResponse:
    return render(request, "404.html", {"title": "Page introuvable"}, status=404)


@login_not_required
def error_500(request: HttpRequest) -> HttpResponse:
    return render(request, "500.html", {"title": "Erreur du service"}, status=500)
