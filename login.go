package signoff

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/signoff/signoff/accesstoken"
	"github.com/signoff/signoff/internal/httpx"
)

// LoginOptions changes how Login hands out credentials.
type LoginOptions struct {
	// Native (jwt mode) returns the refresh token in LoginResult instead of
	// setting the refresh cookie, for clients that are not browsers.
	Native bool
}

// Tokens are the credentials jwt mode hands out at login and refresh.
type Tokens struct {
	AccessToken Secret
	ExpiresAt   time.Time
	// RefreshToken is set only for native clients; browsers get it in the
	// refresh cookie.
	RefreshToken Secret
}

// TokenResponse is the JSON body that carries Tokens (RFC 6749 §5.1 names).
type TokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
}

// Response returns the wire form of t, raw values included: write it only
// into the response to the client that owns them.
func (t *Tokens) Response(now time.Time) TokenResponse {
	return TokenResponse{
		AccessToken:  t.AccessToken.Reveal(),
		TokenType:    "Bearer",
		ExpiresIn:    int64(t.ExpiresAt.Sub(now).Round(time.Second) / time.Second),
		RefreshToken: t.RefreshToken.Reveal(),
	}
}

// appendJSON appends t as encoding/json writes it, without reflection:
// every refresh answers with it.
func (t TokenResponse) appendJSON(b []byte) []byte {
	b = httpx.AppendString(append(b, `{"access_token":`...), t.AccessToken)
	b = httpx.AppendString(append(b, `,"token_type":`...), t.TokenType)
	b = strconv.AppendInt(append(b, `,"expires_in":`...), t.ExpiresIn, 10)
	if t.RefreshToken != "" {
		b = httpx.AppendString(append(b, `,"refresh_token":`...), t.RefreshToken)
	}
	return append(b, '}')
}

// LoginResult is what Login created.
type LoginResult struct {
	Session *Session
	Tokens  *Tokens // jwt mode only
}

// Login signs userID in on the device that sent r: it revokes whatever
// session r's credentials name (R1: login always mints a fresh session and the
// earlier one dies), creates a session with a fresh 256-bit secret, and writes
// the cookie (session mode) or mints the tokens (jwt mode). Call it only after
// the user has proved who they are.
func (m *Manager) Login(w http.ResponseWriter, r *http.Request, userID string, opt LoginOptions) (*LoginResult, error) {
	if userID == "" {
		return nil, errors.New("signoff: Login needs a user ID")
	}
	ctx := m.requestContext(r)
	earlier, err := m.revokePresented(ctx, r, nil)
	if err != nil {
		return nil, err
	}
	now := m.now()
	s := &Session{
		ID: newID("ses_"), UserID: userID,
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(m.cfg.AbsoluteLifetime),
		UserAgent: httpx.Truncate(r.UserAgent(), 256), IP: httpx.Truncate(m.cfg.ClientIP(r), 64),
	}
	secret := newRandomSecret()
	var rt *RefreshToken
	if m.cfg.Mode == ModeSession {
		s.TokenHash = secret.Hash()
	} else {
		rt = &RefreshToken{JTI: m.jtiOf(secret), SessionID: s.ID, Hash: secret.Hash(), IssuedAt: now, ExpiresAt: minTime(now.Add(m.cfg.IdleTimeout), s.ExpiresAt)}
	}
	if err := m.store.CreateSession(ctx, s, rt); err != nil {
		return nil, unavailable("create session", err)
	}
	w.Header()["Cache-Control"] = noStore
	res := &LoginResult{Session: s}
	if m.cfg.Mode == ModeSession {
		m.cfg.SessionCookie.Set(w, secret.Reveal(), s.ExpiresAt, now)
		m.emit(ctx, slog.LevelInfo, EventLogin, m.on.Login, Event{UserID: userID, SessionID: s.ID, Sessions: earlier.Sessions},
			slog.Bool("native", false), slog.Int("ended", earlier.Sessions), slog.Any("credential", secret))
		return res, nil
	}
	m.owners.remember(m.cfg.RefreshLimit != nil, secret.Hash(), userID)
	at, exp, err := m.mint(s, now)
	if err != nil {
		return nil, err
	}
	res.Tokens = &Tokens{AccessToken: at, ExpiresAt: exp}
	if opt.Native {
		res.Tokens.RefreshToken = secret
	} else {
		m.cfg.RefreshCookie.Set(w, secret.Reveal(), rt.ExpiresAt, now)
	}
	m.emit(ctx, slog.LevelInfo, EventLogin, m.on.Login, Event{UserID: userID, SessionID: s.ID, Sessions: earlier.Sessions, Native: opt.Native},
		slog.Bool("native", opt.Native), slog.Int("ended", earlier.Sessions), slog.Any("credential", secret))
	return res, nil
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// mint signs an access token for s, valid for AccessTokenTTL but never past
// the session's absolute lifetime.
func (m *Manager) mint(s *Session, now time.Time) (Secret, time.Time, error) {
	exp := minTime(now.Add(m.cfg.AccessTokenTTL), s.ExpiresAt)
	var jti [12]byte
	rand.Read(jti[:])
	tok, err := m.codec.Sign(accesstoken.Claims{
		Subject: s.UserID, SessionID: s.ID, AuthVersion: s.AuthVersion,
		ID: hex.EncodeToString(jti[:]), IssuedAt: now, NotBefore: now, ExpiresAt: exp,
	})
	if err != nil {
		return Secret{}, time.Time{}, err
	}
	return NewSecret(tok), exp, nil
}
