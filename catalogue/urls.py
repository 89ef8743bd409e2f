from django.urls import path

from catalogue import views

app_name = "catalogue"

urlpatterns = [
    path("", views.index, name="index"),
    path("services/<uuid:public_id>/", views.detail, name="detail"),
    path("services/<uuid:public_id>/connecter/", views.connect, name="connect"),
    path("services/<uuid:public_id>/signaler/", views.report, name="report"),
    path("mes-services/", views.connections, name="connections"),
    path("mes-services/<uuid:public_id>/deconnecter/", views.disconnect, name="disconnect"),
]
