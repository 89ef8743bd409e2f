"""django-dsfr's form renderer, shared by every form of the process.

`DsfrBaseForm.default_renderer` hands Django the renderer CLASS while FORM_RENDERER is Django's default, and
Django then builds a new renderer — with a new template engine and an empty template cache — for every form
instance: every field template was compiled again on every page (6–10 ms per form page, found by the
activation benchmark). Naming this class in FORM_RENDERER makes DsfrBaseForm use Django's
`get_default_renderer()`, one cached instance per process; the templates are django-dsfr's own.
"""

from dsfr.forms import DsfrDjangoTemplates


class DsfrFormRenderer(DsfrDjangoTemplates):
    pass
