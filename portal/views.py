"""Cross-app pages, and the login page."""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.shortcuts import render
from django.utils import timezone

from alarms.selectors import dashboard_summary
from incidents.selectors import alert_summary
from portal.login_limit import client_address, login_blocked, login_failure_record, login_failures_forget

ALERT_DAYS = 30


def dashboard(request):
    alerts = alert_summary(since=timezone.now() - timedelta(days=ALERT_DAYS))
    return render(
        request,
        "portal/dashboard.html",
        {"summary": dashboard_summary(), "alerts": alerts, "alert_days": ALERT_DAYS},
    )


class LoginView(auth_views.LoginView):
    """Django's login page that stops checking passwords for a user name or an address after too many failures
    (see portal/login_limit.py): it answers 429 instead, without looking at the password."""

    def post(self, request, *args, **kwargs):
        username = request.POST.get("username", "")
        if login_blocked(username=username, address=client_address(request)):
            form = self.get_form_class()(request, initial={"username": username})
            window = settings.OKAMI_LOGIN_FAILURE_WINDOW_SECONDS
            context = self.get_context_data(form=form, blocked_minutes=max(1, round(window / 60)))
            response = self.render_to_response(context, status=429)
            response["Retry-After"] = str(window)
            return response
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        login_failure_record(username=form.data.get("username", ""), address=client_address(self.request))
        return super().form_invalid(form)

    def form_valid(self, form):
        login_failures_forget(username=form.get_user().get_username())
        return super().form_valid(form)
