// A sign-in built with Express 4, express-session and Passport's
// passport-local, the way passportjs.org's "Username & Password" tutorial
// builds it (GET /login shows the form, POST /login/password signs in,
// POST /logout signs out with req.logout), and configured with care:
//
//   - the session cookie is __Host-sid: Secure, HttpOnly, SameSite=Lax,
//     Path=/, no Domain, and lives 8 hours;
//   - passport >= 0.6 regenerates the session at sign-in, and at sign-out;
//     sign-out then destroys the session it regenerated, deletes the cookie
//     with the attributes it was set with, and sends Clear-Site-Data;
//   - every answer is Cache-Control: no-store;
//   - unsafe requests from another origin are refused (Sec-Fetch-Site,
//     else Origin), and GET /logout is 405;
//   - a Cookie header that carries __Host-sid twice is signed out, whatever
//     the order.
//
// The account comes from the environment: APP_USER and APP_PASSWORD. It
// serves HTTPS (a Secure cookie is not set over plain HTTP) with the
// certificate TLS_CERT and key TLS_KEY, on 127.0.0.1 at a free port, and
// prints "listening on https://127.0.0.1:PORT" once it listens. It needs
// express@4, express-session@1, passport@0.7 and passport-local@1 on
// NODE_PATH.
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const https = require('https');
const express = require('express');
const session = require('express-session');
const passport = require('passport');
const LocalStrategy = require('passport-local');

const SESSION_COOKIE = '__Host-sid';

// The one account. The tutorial keeps users in SQLite with a PBKDF2 hash
// and a salt; this keeps the same in memory.
const account = { id: 1, username: process.env.APP_USER };
const salt = crypto.randomBytes(16);
const hashedPassword = crypto.pbkdf2Sync(process.env.APP_PASSWORD || '', salt, 310000, 32, 'sha256');
delete process.env.APP_PASSWORD;
if (!account.username || !process.env.TLS_CERT || !process.env.TLS_KEY) {
  console.error('set APP_USER, APP_PASSWORD, TLS_CERT and TLS_KEY');
  process.exit(2);
}

passport.use(new LocalStrategy(function verify(username, password, cb) {
  crypto.pbkdf2(password, salt, 310000, 32, 'sha256', function (err, hashed) {
    if (err) { return cb(err); }
    if (username !== account.username || !crypto.timingSafeEqual(hashedPassword, hashed)) {
      return cb(null, false, { message: 'Incorrect username or password.' });
    }
    return cb(null, account);
  });
}));

passport.serializeUser(function (user, cb) {
  process.nextTick(function () {
    cb(null, { id: user.id, username: user.username });
  });
});

passport.deserializeUser(function (user, cb) {
  process.nextTick(function () {
    return cb(null, user);
  });
});

const app = express();
app.disable('x-powered-by');

// Nothing this site answers may be cached: its pages are per user, and its
// sign-in and sign-out answers carry the session cookie (CHECKLIST R25).
app.use(function noStore(req, res, next) {
  res.set('Cache-Control', 'no-store');
  next();
});

// Refuse unsafe requests from other origins, the way Go's
// http.CrossOriginProtection does: a browser's Sec-Fetch-Site must say
// same-origin (or none: the user typed it); without it, an Origin must be
// this site's. A request with neither comes from no browser, so it carries
// no victim's cookie (CHECKLIST R28, R29).
app.use(function sameOrigin(req, res, next) {
  if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') {
    return next();
  }
  const site = req.get('Sec-Fetch-Site');
  const origin = req.get('Origin');
  const ok = site ? site === 'same-origin' || site === 'none'
    : !origin || origin === req.protocol + '://' + req.get('Host');
  if (!ok) {
    return res.status(403).type('text').send('Cross-origin request refused.\n');
  }
  next();
});

// express-session reads the first of two cookies with the same name, so
// with two (one set for a narrower Path, say) their order would decide who
// the user is. Drop the session cookie when it comes twice: such a request
// is signed out, in either order (CHECKLIST R23).
app.use(function oneSessionCookie(req, res, next) {
  const header = req.headers.cookie;
  if (header) {
    const pairs = header.split(';');
    const ours = pairs.filter((p) => p.split('=', 1)[0].trim() === SESSION_COOKIE);
    if (ours.length > 1) {
      req.headers.cookie = pairs.filter((p) => !ours.includes(p)).join(';');
    }
  }
  next();
});

app.use(express.urlencoded({ extended: false }));
app.use(session({
  name: SESSION_COOKIE,
  // Sessions live in this process (the default MemoryStore), so a secret
  // made at start is enough.
  secret: crypto.randomBytes(32).toString('hex'),
  resave: false,
  saveUninitialized: false,
  cookie: { path: '/', secure: true, httpOnly: true, sameSite: 'lax', maxAge: 8 * 60 * 60 * 1000 },
}));
app.use(passport.authenticate('session'));

function escapeHTML(s) {
  return String(s).replace(/[&<>"']/g, (c) => '&#' + c.charCodeAt(0) + ';');
}

function page(title, body) {
  return '<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>' + title +
    '</title></head><body>\n' + body + '\n</body></html>\n';
}

app.get('/', function (req, res) {
  if (!req.user) {
    return res.send(page('Home', '<p><a href="/login">Sign in</a></p>'));
  }
  res.send(page('Home', '<p>Signed in as ' + escapeHTML(req.user.username) + '.</p>\n' +
    '<form action="/logout" method="post"><button type="submit">Sign out</button></form>'));
});

app.get('/login', function (req, res) {
  res.send(page('Sign in', '<form action="/login/password" method="post">\n' +
    '<label for="username">Username</label> <input id="username" name="username" type="text" autocomplete="username" required>\n' +
    '<label for="current-password">Password</label> <input id="current-password" name="password" type="password" autocomplete="current-password" required>\n' +
    '<button type="submit">Sign in</button>\n</form>'));
});

app.post('/login/password', passport.authenticate('local', {
  successRedirect: '/',
  failureRedirect: '/login',
}));

// The protected API: who is signed in.
app.get('/api/me', function (req, res) {
  if (!req.user) {
    return res.status(401).json({ error: 'Sign in first.' });
  }
  res.json({ username: req.user.username });
});

// Sign-out changes state: POST only (CHECKLIST R27).
app.get('/logout', function (req, res) {
  res.set('Allow', 'POST').status(405).type('text').send('Sign out with POST.\n');
});

app.post('/logout', function (req, res, next) {
  // Passport drops the user and regenerates the session: the signed-in
  // session is destroyed in the store.
  req.logout(function (err) {
    if (err) { return next(err); }
    // Destroy the fresh session too: nothing is left, and express-session
    // sets no new cookie.
    req.session.destroy(function (err) {
      if (err) { return next(err); }
      // Express 4's res.clearCookie writes only an Expires in the past;
      // write Max-Age=0 as well, with the attributes the cookie was set
      // with (CHECKLIST R21, R22).
      res.append('Set-Cookie', SESSION_COOKIE + '=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Secure; HttpOnly; SameSite=Lax');
      res.set('Clear-Site-Data', '"cache", "cookies", "storage"');
      res.redirect('/');
    });
  });
});

const server = https.createServer({
  cert: fs.readFileSync(process.env.TLS_CERT),
  key: fs.readFileSync(process.env.TLS_KEY),
}, app);
server.listen(0, '127.0.0.1', function () {
  console.log('listening on https://127.0.0.1:' + server.address().port);
});
