"""Settings of the Django fixture app for `signoff check` (Django 3.2, Debian's python3-django).

Built like the project `django-admin startproject` makes, cut to one
settings module and one URLconf (urls.py), with the session and CSRF
settings of Django's deployment checklist (`manage.py check --deploy`): the
app a careful Django developer would ship, to show what Django itself gets
right and wrong. serve.py runs it; expected lists what `signoff check`
must find, and why.

The secret key is random per run, and the SQLite file lives in APP_DATA, a
temporary directory the test makes. In production this runs behind TLS; the
test serves it over plain HTTP on 127.0.0.1, which browsers and Go's cookie
jar treat as a secure origin, so the Secure and __Host- cookies work.
"""

import os
import secrets
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent

SECRET_KEY = secrets.token_urlsafe(50)
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "urls.one_session_cookie",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
            ],
        },
    },
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": Path(os.environ["APP_DATA"]) / "db.sqlite3",
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
USE_TZ = True

# Sign-in and sign-out (django.contrib.auth's LoginView and LogoutView).
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/account/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

# Database sessions (the default engine), in a __Host- cookie: Secure,
# Path=/, no Domain, HttpOnly, SameSite=Lax, and 8 hours at most.
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_NAME = "__Host-sessionid"
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 8 * 60 * 60

# The CSRF cookie keeps its default name, csrftoken, which pages read to
# send X-CSRFToken.
CSRF_COOKIE_SECURE = True
