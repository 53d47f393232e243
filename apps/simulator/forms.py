from django import forms

from apps.simulator.models import SimMdc
from apps.simulator.services import FAULT_FIELDS


class FaultsForm(forms.ModelForm):
    class Meta:
        model = SimMdc
        fields = list(FAULT_FIELDS)
