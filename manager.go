package signoff

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/signoff/signoff/accesstoken"
)

// Manager owns the lifecycle of sessions: sign-in, authenticated requests,
// refresh, sign-out of one device and sign-out everywhere. It is safe for
// concurrent use. Close stops its background work.
type Manager struct {
	cfg     Config
	store   Store
	bus     Bus
	now     func() time.Time
	log     *slog.Logger
	cache   *cache
	owners  owners // whose refresh tokens these are, for RefreshLimit
	on      Hooks
	codec   *accesstoken.Codec
	cop     *http.CrossOriginProtection
	csd     string
	vary    []string
	touches chan Touch
	done    chan struct{}
	wg      sync.WaitGroup
	closeMu sync.Once

	bgMu    sync.Mutex // guards closing and wg.Add after New
	closing bool
}

// New checks cfg, fills in its defaults and starts the Manager.
func New(cfg Config) (*Manager, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	m := &Manager{
		cfg: cfg, store: cfg.Store, bus: cfg.Bus, now: cfg.Now, log: cfg.Logger,
		cache: newCache(cfg.CacheSize, cfg.Now), cop: cfg.CrossOrigin, owners: owners{max: cfg.CacheSize},
		vary:    varyCookie,
		touches: make(chan Touch, 4*maxTouches),
		done:    make(chan struct{}),
	}
	if !cfg.DisableClearSiteData && len(cfg.ClearSiteData) > 0 {
		q := make([]string, len(cfg.ClearSiteData))
		for i, d := range cfg.ClearSiteData {
			q[i] = `"` + strings.Trim(d, `"`) + `"`
		}
		m.csd = strings.Join(q, ", ")
	}
	if cfg.Mode == ModeJWT {
		m.vary = []string{"Cookie", "Authorization"}
		codec, err := accesstoken.NewCodec(cfg.Keys, cfg.Issuer, cfg.Audience, cfg.AccessTokenTTL, cfg.Leeway, cfg.Now)
		if err != nil {
			return nil, err
		}
		m.codec = codec
	}
	m.hooks(cfg.Hooks)
	if err := m.bus.Subscribe(m.apply); err != nil {
		return nil, fmt.Errorf("signoff: subscribe to the revocation bus: %w", err)
	}
	m.wg.Add(2)
	go m.toucher()
	go m.sweeper()
	return m, nil
}

// Close stops the Manager's background work. It does not close the Store or
// the Bus.
func (m *Manager) Close() error {
	m.bgMu.Lock()
	m.closing = true
	m.bgMu.Unlock()
	m.closeMu.Do(func() { close(m.done) })
	m.wg.Wait()
	return nil
}

// Mode returns the Manager's mode.
func (m *Manager) Mode() Mode { return m.cfg.Mode }

// Keys returns the access-token key set (jwt mode), or nil.
func (m *Manager) Keys() *accesstoken.KeySet {
	if m.codec == nil {
		return nil
	}
	return m.codec.Keys()
}

// SetKeys replaces the access-token key set, for rotation: put the new key
// first and keep the old ones until every token they signed has expired.
func (m *Manager) SetKeys(ks *accesstoken.KeySet) error {
	if m.codec == nil {
		return ErrWrongMode
	}
	m.codec.SetKeys(ks)
	return nil
}
