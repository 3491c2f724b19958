from django import forms

from alarms.models import Alarm

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
