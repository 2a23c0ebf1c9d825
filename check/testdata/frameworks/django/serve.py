"""Serves the Django fixture app (settings.py, urls.py) for the tests.

It creates the database tables (migrate) and the account APP_USER with the
password APP_PASSWORD (from the environment, never argv), listens on
127.0.0.1 on a port the system picks, prints "listening on
http://127.0.0.1:PORT", and serves with wsgiref until it is killed. Requests are not logged:
a request line can carry a credential in its URL (the checker's R24 probe
does exactly that).
"""

import os
import socketserver
import sys
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ["DJANGO_SETTINGS_MODULE"] = "settings"

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402

call_command("migrate", verbosity=0, interactive=False)
User.objects.create_user(os.environ["APP_USER"], email=os.environ["APP_USER"], password=os.environ["APP_PASSWORD"])


class Server(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):
        pass


server = make_server("127.0.0.1", 0, get_wsgi_application(), server_class=Server, handler_class=QuietHandler)
print(f"listening on http://127.0.0.1:{server.server_port}", flush=True)
server.serve_forever()
