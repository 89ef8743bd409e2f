"""The product's URLs plus /bench/bare, for bench/fhir_api.py only (never installed in the product)."""

from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from espace_sante.fhir.registry import authenticate
from espace_sante.urls import urlpatterns as product


@csrf_exempt
@login_not_required
def bare(request):
    """The bare authenticated view: the bearer token checked like every API call, an empty JSON answer."""
    authenticate(request)
    return HttpResponse(b"{}", content_type="application/fhir+json")


urlpatterns = [path("bench/bare", bare), *product]
