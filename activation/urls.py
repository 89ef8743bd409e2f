from django.urls import path

from activation import views

app_name = "activation"

urlpatterns = [
    path("", views.start, name="start"),
    path("choix/", views.choice, name="choice"),
    path("activer/", views.activate, name="activate"),
    path("activer/verification/", views.activate_verify, name="activate_verify"),
    path("opposition/", views.oppose, name="oppose"),
    path("opposition/<uuid:public_id>/", views.opposition_done, name="opposition_done"),
    path("opposition/<uuid:public_id>/justificatif.pdf", views.opposition_receipt, name="opposition_receipt"),
    path("nouveau-code/", views.new_code, name="new_code"),
    path("cloture/", views.close, name="close"),
    path("profil-cloture/", views.closed, name="closed"),
    path("cloture/<uuid:public_id>/justificatif.pdf", views.closure_receipt, name="closure_receipt"),
    path("profils-rattaches/", views.children, name="children"),
    path(
        "profils-rattaches/<uuid:public_id>/activer/",
        views.child_decide,
        {"decision": "activer"},
        name="child_activate",
    ),
    path(
        "profils-rattaches/<uuid:public_id>/opposition/",
        views.child_decide,
        {"decision": "opposer"},
        name="child_oppose",
    ),
]
