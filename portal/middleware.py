"""Login required by default: a page is public only if its path is listed in LOGIN_EXEMPT_PREFIXES."""

from django.conf import settings
from django.contrib.auth.views import redirect_to_login


class LoginRequiredMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.exempt = tuple(settings.LOGIN_EXEMPT_PREFIXES)

    def __call__(self, request):
        if not request.user.is_authenticated and not request.path.startswith(self.exempt):
            return redirect_to_login(request.get_full_path())
        return self.get_response(request)


class WebhookMiddleware:
    """Signed webhooks (``/hooks/``) go straight to their view, past the middleware that serves people
    (static files, sessions, CSRF, authentication, messages, frames): a webhook's credential is its
    signature or token, and at hundreds of deliveries a second that middleware was a third of each one's
    time. Placed after SecurityMiddleware, which still applies."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from incidents.views.hooks import HOOKS

        view = HOOKS.get(request.path_info)
        return view(request) if view is not None else self.get_response(request)
