from django.urls import path

from activation import views

app_name = "activation"

urlpatterns = [
    path("", views.start, name="start"),
]
