"""URLs and the one view of the Django fixture app (see settings.py).

As Django's authentication docs wire them: LoginView at /accounts/login/
with registration/login.html, LogoutView at /accounts/logout/, and a page
that needs sign-in. Two changes a careful developer makes: logout is
POST-only (require_POST; Django 3.2's LogoutView also signs out on GET),
sent by the page's form with its CSRF token; and the private page is
never_cache.
"""

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import path
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST


@never_cache
@login_required
def account(request):
    return render(request, "account.html")


urlpatterns = [
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", require_POST(auth_views.LogoutView.as_view()), name="logout"),
    path("account/", account, name="account"),
]
