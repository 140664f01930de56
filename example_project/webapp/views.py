"""The demo web app: one page whose script uses only the public HTTP API (docs/API.md)."""

from django.views.generic import TemplateView

index = TemplateView.as_view(template_name="webapp/index.html")
