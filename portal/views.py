"""Cross-app pages."""

from django.shortcuts import render

from alarms.selectors import dashboard_summary


def dashboard(request):
    return render(request, "portal/dashboard.html", {"summary": dashboard_summary()})
