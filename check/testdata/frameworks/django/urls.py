"""URLs and the one view of the Django fixture app (see settings.py).

As Django's authentication docs wire them: LoginView at /accounts/login/
with registration/login.html, LogoutView at /accounts/logout/, and a page
that needs sign-in. What a careful developer adds:

- logout is POST-only (require_POST; Django 3.2's LogoutView also signs
  out on GET), sent by the page's form with its CSRF token;
- the private page is never_cache;
- sign-in always starts a new session (R1): django.contrib.auth.login()
  cycles the session key only when the session holds no user, and keeps
  the key when the same user signs in again over a live session;
- a request with two session cookies is signed out (R23, the middleware
  below, listed before SessionMiddleware in settings.py):
  django.http.parse_cookie keeps the last of two cookies with one name,
  so their order would decide.
"""

from django.conf import settings

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import path
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST


class FreshLoginView(auth_views.LoginView):
    """LoginView that drops any session the browser presents before it
    signs the user in, so login() always mints a new key (R1)."""

    def form_valid(self, form):
        self.request.session.flush()
        return super().form_valid(form)


def one_session_cookie(get_response):
    """Middleware: a request that carries the session cookie twice is
    treated as carrying none (R23)."""
    name = settings.SESSION_COOKIE_NAME

    def middleware(request):
        sent = request.META.get("HTTP_COOKIE", "").split(";")
        if sum(1 for part in sent if part.strip().split("=", 1)[0] == name) > 1:
            request.COOKIES = {k: v for k, v in request.COOKIES.items() if k != name}
        return get_response(request)

    return middleware


@never_cache
@login_required
def account(request):
    return render(request, "account.html")


urlpatterns = [
    path("accounts/login/", FreshLoginView.as_view(), name="login"),
    path("accounts/logout/", require_POST(auth_views.LogoutView.as_view()), name="logout"),
    path("account/", account, name="account"),
]
