"""/api/v1/: the FHIR R4 server. A named route per registered resource type (`api:<Type>-type`,
`api:<Type>-instance`, `api:<Type>-search`), so that every resource is in the URL resolver's inventory."""

from django.urls import path, re_path

from espace_sante.fhir import views
from espace_sante.fhir.registry import resources

app_name = "api"


def _routes() -> list:
    routes = [path("metadata", views.metadata, name="metadata")]
    for name in resources():
        routes += [
            path(f"{name}/_search", views.search_endpoint, {"resource_type": name}, name=f"{name}-search"),
            path(
                f"{name}/<str:resource_id>", views.instance_endpoint, {"resource_type": name}, name=f"{name}-instance"
            ),
            path(name, views.type_endpoint, {"resource_type": name}, name=f"{name}-type"),
        ]
    return routes + [re_path(r"^(?P<rest>.*)$", views.not_found, name="not_found")]


urlpatterns = _routes()
