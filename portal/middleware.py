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
