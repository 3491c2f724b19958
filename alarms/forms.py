from django import forms

from alarms.choices import SignalKind, Tier
from alarms.models import Alarm, MappingRule, Service, Team

GUIDANCE = {
    "purpose_detects": "What goes wrong when it fires, in the words of the service. "
    "Good: “Checkout API returns 5xx to more than 1% of requests for 3 minutes.”",
    "purpose_customer_impact": "Who is affected and how. "
    "Good: “Customers cannot place orders; revenue stops.” If nobody is affected, it should not page.",
    "purpose_action": "What the responder does first. "
    "Good: “Check the payments provider status page; if it is down, switch to the fallback provider.”",
    "runbook_url": "A link to the runbook with the diagnosis steps.",
    "signal_kind": "Symptom: customers feel it. Cause: something that may lead to a symptom.",
    "tier": "Page only what needs a human now; the rest is a ticket or a dashboard.",
}


class AlarmGovernanceForm(forms.ModelForm):
    """The purpose contract and ownership of one alarm."""

    runbook_url = forms.URLField(
        label="Runbook", required=False, max_length=1000, assume_scheme="https", help_text=GUIDANCE["runbook_url"]
    )

    class Meta:
        model = Alarm
        fields = [
            "service",
            "owner_team",
            "purpose_detects",
            "purpose_customer_impact",
            "purpose_action",
            "runbook_url",
            "signal_kind",
            "tier",
        ]
        widgets = {
            "purpose_detects": forms.Textarea(attrs={"rows": 2}),
            "purpose_customer_impact": forms.Textarea(attrs={"rows": 2}),
            "purpose_action": forms.Textarea(attrs={"rows": 2}),
        }
        help_texts = GUIDANCE


UNCHANGED = ""


class BulkAssignForm(forms.Form):
    """Fields to set on the selected alarms; a blank choice leaves the field as it is."""

    scope = forms.ChoiceField(
        choices=[("selected", "Selected alarms"), ("filtered", "Every alarm matching the filters")]
    )
    alarms = forms.ModelMultipleChoiceField(queryset=Alarm.objects.filter(deleted_at__isnull=True), required=False)
    service = forms.ModelChoiceField(
        queryset=Service.objects.order_by("name"), required=False, empty_label="(unchanged)"
    )
    owner_team = forms.ModelChoiceField(
        queryset=Team.objects.order_by("name"), required=False, empty_label="(unchanged)"
    )
    tier = forms.ChoiceField(choices=[(UNCHANGED, "(unchanged)"), *Tier.choices], required=False)
    signal_kind = forms.ChoiceField(choices=[(UNCHANGED, "(unchanged)"), *SignalKind.choices], required=False)
    accept_suggestions = forms.BooleanField(
        required=False, label="Accept suggestions", help_text="Fill empty purpose, signal and tier from suggestions."
    )
    # "Every alarm matching the filters": the number of alarms the person confirmed after seeing it.
    confirmed_count = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)

    def clean(self):
        data = super().clean()
        if data.get("scope") == "selected" and not data.get("alarms"):
            raise forms.ValidationError("Select at least one alarm.")
        if not any(data.get(name) for name in ("service", "owner_team", "tier", "signal_kind", "accept_suggestions")):
            raise forms.ValidationError("Choose what to set, or accept the suggestions.")
        return data

    def values(self) -> dict:
        return {
            name: self.cleaned_data[name]
            for name in ("service", "owner_team", "tier", "signal_kind")
            if self.cleaned_data.get(name)
        }

    def values_as_posted(self) -> dict[str, str]:
        """The values to set as the form posts them (ids for service and team), for a confirmation step."""
        posted = {name: getattr(value, "pk", value) for name, value in self.values().items()}
        return posted | ({"accept_suggestions": "on"} if self.cleaned_data.get("accept_suggestions") else {})


class MappingRuleForm(forms.ModelForm):
    class Meta:
        model = MappingRule
        fields = [
            "position",
            "name",
            "enabled",
            "match",
            "tag_key",
            "pattern",
            "set_service",
            "set_team",
            "service_from_value",
            "team_from_value",
        ]
        help_texts = {
            "pattern": "Tag rules: the value (* for any). Prefix rules: the start of the name. Regular expressions: "
            "named groups (?P<service>…) and (?P<team>…) can supply the slug. Account rules: the 12-digit id.",
        }
