from django.views.generic import TemplateView

from apps.core.panels import collect_panels


class HomeView(TemplateView):
    template_name = "dashboard/home.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["panels"] = collect_panels(self.request)
        return context
