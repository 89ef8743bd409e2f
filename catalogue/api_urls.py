"""/api/v1/ (FHIR R4) for connected services; see catalogue/api.py."""

from django.urls import path

from catalogue import api

app_name = "api"

urlpatterns = [
    path("Observation", api.observations, name="observations"),
    path("Observation/<uuid:public_id>", api.observation, name="observation"),
    path("Appointment", api.appointments, name="appointments"),
    path("Appointment/<uuid:public_id>", api.appointment, name="appointment"),
    path("DocumentReference", api.document_references, name="document_references"),
    path("DocumentReference/<uuid:public_id>", api.document_reference, name="document_reference"),
    path("Binary/<uuid:public_id>", api.binary, name="binary"),
]
