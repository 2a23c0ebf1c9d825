package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/signoff/signoff"
	"github.com/signoff/signoff/bench/internal/harness"
	"github.com/signoff/signoff/internal/apiclient"
)

// rotator rotates chain i of a row once.
type rotator interface {
	rotate(ctx context.Context, i int) error
	chains() int
}

// sample is one row measured once.
type sample struct {
	rotations int64
	elapsed   time.Duration
	cpu       time.Duration // of the process the row charges: serve, or this one
	load      string        // the load average when it started
}

func (s sample) rate() float64 { return float64(s.rotations) / s.elapsed.Seconds() }

func (s sample) perRot() time.Duration {
	if s.rotations == 0 {
		return 0
	}
	return s.cpu / time.Duration(s.rotations)
}

// drive runs n chains of r for warm, then measures d: the rotations done
// between the edges, and the CPU time of pid (0: this process) across
// them. The first error of any chain ends the row.
func drive(ctx context.Context, r rotator, n int, warm, d time.Duration, pid int) (sample, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var count atomic.Int64
	var stop atomic.Bool
	var once sync.Once
	var firstErr error
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				if err := r.rotate(ctx, i); err != nil {
					if !stop.Load() {
						once.Do(func() { firstErr = err; stop.Store(true); cancel() })
					}
					return
				}
				count.Add(1)
			}
		}()
	}
	s := sample{load: harness.LoadAvg()}
	wait := func(t time.Duration) {
		select {
		case <-time.After(t):
		case <-ctx.Done():
		}
	}
	wait(warm)
	c0, s0 := count.Load(), cpuOf(pid)
	wait(d)
	c1, s1 := count.Load(), cpuOf(pid)
	stop.Store(true)
	wg.Wait()
	if firstErr != nil {
		return s, firstErr
	}
	if err := ctx.Err(); err != nil {
		return s, err
	}
	s.rotations, s.elapsed = c1-c0, s1.At.Sub(s0.At)
	if pid == 0 {
		s.cpu = s1.Self - s0.Self
	} else {
		s.cpu = s1.Server[0] - s0.Server[0]
	}
	return s, nil
}

func cpuOf(pid int) harness.CPUSample {
	if pid == 0 {
		return harness.SampleCPU()
	}
	return harness.SampleCPU(pid)
}

// rawChains are chains rotated on a store directly: each the hash of its
// current refresh token.
type rawChains struct {
	st   signoff.Store
	tips []signoff.Hash
}

func rnd(prefix string) string {
	var b [12]byte
	rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// newRawChains creates n sessions, each with its first refresh token, on st.
func newRawChains(ctx context.Context, st signoff.Store, n int) (*rawChains, error) {
	c := &rawChains{st: st, tips: make([]signoff.Hash, n)}
	now := time.Now()
	for i := range c.tips {
		sess := &signoff.Session{ID: rnd("ses_"), UserID: "usr_bench_writes", CreatedAt: now, LastSeenAt: now,
			ExpiresAt: now.Add(24 * time.Hour), UserAgent: "bench/writes", IP: "127.0.0.1"}
		rt := &signoff.RefreshToken{JTI: rnd("rt_"), SessionID: sess.ID, Hash: signoff.HashString(rnd("rt")), IssuedAt: now, ExpiresAt: now.Add(time.Hour)}
		if err := st.CreateSession(ctx, sess, rt); err != nil {
			return nil, fmt.Errorf("create a session: %w", err)
		}
		c.tips[i] = rt.Hash
	}
	return c, nil
}

func (c *rawChains) chains() int { return len(c.tips) }

func (c *rawChains) rotate(ctx context.Context, i int) error {
	now := time.Now()
	child := &signoff.RefreshToken{JTI: rnd("rt_"), Hash: signoff.HashString(rnd("rt")), IssuedAt: now, ExpiresAt: now.Add(time.Hour)}
	if _, err := c.st.RotateRefreshToken(ctx, c.tips[i], child, signoff.DefaultRefreshGrace); err != nil {
		return fmt.Errorf("RotateRefreshToken: %w", err)
	}
	c.tips[i] = child.Hash
	return nil
}

// httpChains are native clients of signoff serve --mode jwt, each holding
// its current refresh token.
type httpChains struct {
	url   string // …/refresh
	hc    *http.Client
	creds []apiclient.Cred
}

func newHTTPChains(base string, creds []apiclient.Cred) *httpChains {
	c := harness.NewClient()
	c.Transport = &http.Transport{Proxy: nil, DisableCompression: true, MaxIdleConnsPerHost: maxChains}
	return &httpChains{url: base + "refresh", hc: c.Client, creds: creds}
}

func (c *httpChains) chains() int { return len(c.creds) }

func (c *httpChains) rotate(ctx context.Context, i int) error {
	req, err := apiclient.NewRequest(ctx, "POST", c.url, apiclient.Cred{}, c.creds[i].RefreshBody())
	if err != nil {
		return err
	}
	res, body, err := harness.Client{Client: c.hc}.Send(req, 200)
	if err != nil {
		return err
	}
	cred, ok := apiclient.FromLogin(res.Header, body)
	if !ok || cred.RefreshToken == "" {
		return fmt.Errorf("POST /refresh answered no refresh token")
	}
	c.creds[i] = cred
	return nil
}
