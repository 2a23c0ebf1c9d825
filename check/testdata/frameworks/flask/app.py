"""The Flask-Login fixture app for `signoff check` (Flask 2.2, Flask-Login 0.6.2, Debian's python3-flask-login).

Built like Flask-Login's own example (its README's "Usage" and the docs'
"Login Example" and "Logging Out"): a login form that POSTs email and
password to /login, a user loaded by its id (the email, as in the README),
@login_required on /protected, an unauthorized handler that answers 401,
and a logout link: GET /logout, @login_required, logout_user(), then a
redirect. A failed sign-in answers 401 (the README's "Bad login" is a 200). Flask keeps the session in its default client-side cookie,
`session`, signed with itsdangerous, not encrypted; the server tracks no
session. Left out of the README's example: its request_loader, which signs
in any request whose form names a user, and its plain-text password
(hashed here, with Werkzeug). The secret key is random per run.

Runs itself: APP_USER and APP_PASSWORD (from the environment, never
argv) are the account; it listens on 127.0.0.1 on a port the system picks,
prints "listening on http://127.0.0.1:PORT", and serves with Werkzeug's server,
without the request log (a request line can carry a credential in its URL:
the checker's R24 probe). expected lists what `signoff check` must find,
and why.
"""

import logging
import os

import flask
import flask_login
from werkzeug.security import check_password_hash, generate_password_hash
from werkzeug.serving import make_server

app = flask.Flask(__name__)
app.secret_key = os.urandom(32)

login_manager = flask_login.LoginManager()
login_manager.init_app(app)

# Our mock database.
users = {os.environ["APP_USER"]: {"password": generate_password_hash(os.environ["APP_PASSWORD"])}}


class User(flask_login.UserMixin):
    pass


@login_manager.user_loader
def user_loader(email):
    if email not in users:
        return
    user = User()
    user.id = email
    return user


@app.route("/login", methods=["GET", "POST"])
def login():
    if flask.request.method == "GET":
        return """
               <form action='login' method='POST'>
                <input type='text' name='email' id='email' placeholder='email'/>
                <input type='password' name='password' id='password' placeholder='password'/>
                <input type='submit' name='submit'/>
               </form>
               """

    email = flask.request.form["email"]
    if email in users and check_password_hash(users[email]["password"], flask.request.form["password"]):
        user = User()
        user.id = email
        flask_login.login_user(user)
        return flask.redirect(flask.url_for("protected"))

    return "Bad login", 401


@app.route("/protected")
@flask_login.login_required
def protected():
    return "Logged in as: " + flask_login.current_user.id + ' <a href="/logout">Log out</a>'


@app.route("/logout")
@flask_login.login_required
def logout():
    flask_login.logout_user()
    return flask.redirect(flask.url_for("login"))


@login_manager.unauthorized_handler
def unauthorized_handler():
    return "Unauthorized", 401


if __name__ == "__main__":
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    print(f"listening on http://127.0.0.1:{server.port}", flush=True)
    server.serve_forever()
