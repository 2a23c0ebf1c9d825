package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/signoff/signoff/internal/apiclient"
	"github.com/signoff/signoff/internal/testenv"
)

// Three signoff serve processes share PostgreSQL (then PostgreSQL for users
// and Redis for sessions). Sessions are spread across them and warmed on all
// three; each is logged out through one, and its old credentials are
// replayed on all three at once: not one may succeed (I1, R51).
// SIGNOFF_TEST_SESSIONS sets how many sessions (default 1,000, as the issue asks).
func TestThreeInstances_R51(t *testing.T) {
	pg := os.Getenv("SIGNOFF_TEST_POSTGRES")
	if pg == "" {
		testenv.Skip(t, "three instances on PostgreSQL", "set SIGNOFF_TEST_POSTGRES (and SIGNOFF_TEST_REDIS) to real stores")
	}
	n := 1000
	if v, err := strconv.Atoi(os.Getenv("SIGNOFF_TEST_SESSIONS")); err == nil && v > 0 {
		n = v
	}
	backends := map[string]func(t *testing.T) []string{
		"postgres": func(t *testing.T) []string { return []string{"--store", pgSchema(t, pg)} },
		"postgres+redis": func(t *testing.T) []string {
			rd := os.Getenv("SIGNOFF_TEST_REDIS")
			if rd == "" {
				testenv.Skip(t, "three instances on PostgreSQL and Redis", "set SIGNOFF_TEST_REDIS to a Redis URL")
			}
			return []string{"--store", pgSchema(t, pg), "--sessions", redisPrefix(t, rd)}
		},
	}
	for name, args := range backends {
		for _, mode := range []string{"session", "jwt"} {
			t.Run(name+"/"+mode, func(t *testing.T) {
				// No key file: jwt mode keeps its keys in PostgreSQL, sealed
				// under the keys secret every instance reads.
				st := args(t)
				secret := filepath.Join(t.TempDir(), "keys-secret")
				if err := os.WriteFile(secret, []byte(hex.EncodeToString(randomBytes(32))+"\n"), 0o600); err != nil {
					t.Fatal(err)
				}
				a := append(append([]string{}, st...), "--mode", mode, "--keys-secret-file", secret)
				first := serve(t, a...) // creates the keys the others load
				ps := []*proc{first, serve(t, a...), serve(t, a...)}
				var rotate func() string
				if mode == "jwt" {
					rotate = func() string {
						out, err := exec.Command(binary(t), append(append([]string{"keys", "rotate"}, st...), "--keys-secret-file", secret)...).CombinedOutput()
						if err != nil {
							t.Fatalf("keys rotate: %v\n%s", err, out)
						}
						return string(out)
					}
				}
				threeInstances(t, ps, mode, n, rotate)
			})
		}
	}
}

func threeInstances(t *testing.T, ps []*proc, mode string, n int, rotate func() string) {
	email := "multi@example.test"
	if r := call(t, "POST", ps[0].url+"register", apiclient.Cred{}, `{"email":"`+email+`","password":"correct horse battery staple"}`); r.status != 202 {
		t.Fatalf("register: %d %s", r.status, r.body)
	}
	creds := make([]apiclient.Cred, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for i := range creds {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			creds[i] = login(t, ps[i%3].url, email, mode)
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	for i, c := range creds { // every instance has every credential in memory
		for j, p := range ps {
			if r := call(t, "GET", p.url+"api/me", c, ""); r.status != 200 {
				t.Fatalf("session %d on instance %d before logout: %d", i, j, r.status)
			}
		}
	}
	if rotate != nil {
		// keys rotate in the middle: when it returns, every instance signs
		// with the new key and verifies the other's, and every token
		// signed before is still good on all three.
		said := rotate()
		fresh := login(t, ps[1].url, email, mode)
		for j, p := range ps {
			if r := call(t, "GET", p.url+"api/me", fresh, ""); r.status != 200 {
				t.Fatalf("a token signed after keys rotate, on instance %d: %d", j, r.status)
			}
		}
		if kid := tokenKid(t, fresh.AccessToken); !strings.Contains(said, kid+" signs") {
			t.Fatalf("a token signed after keys rotate has kid %s; keys rotate said %q", kid, said)
		}
		for i, c := range creds {
			for j, p := range ps {
				if r := call(t, "GET", p.url+"api/me", c, ""); r.status != 200 {
					t.Fatalf("token %d after keys rotate, on instance %d: %d", i, j, r.status)
				}
			}
		}
		creds = append(creds, fresh)
	}
	var accepted, replays atomic.Int64
	for i, c := range creds {
		if r := call(t, "POST", ps[(i+1)%3].url+"logout", c, c.RefreshBody()); r.status != 200 {
			t.Fatalf("logout of session %d: %d %s", i, r.status, r.body)
		}
		var rw sync.WaitGroup
		for _, p := range ps { // replay at once, on all three
			rw.Add(1)
			go func() {
				defer rw.Done()
				replays.Add(1)
				if call(t, "GET", p.url+"api/me", c, "").status != 401 {
					accepted.Add(1)
				}
				if c.RefreshToken != "" {
					replays.Add(1)
					if call(t, "POST", p.url+"refresh", apiclient.Cred{}, c.RefreshBody()).status != 401 {
						accepted.Add(1)
					}
				}
			}()
		}
		rw.Wait()
	}
	if got := accepted.Load(); got != 0 {
		t.Fatalf("%d replays of logged-out credentials were accepted across 3 instances (%d sessions)", got, n)
	}
	t.Logf("%d sessions logged out across 3 instances; 0 of %d replays accepted", n, replays.Load())

	// The race: B and C keep serving the credential while A logs it out.
	c := login(t, ps[0].url, email, mode)
	for _, p := range ps[1:] {
		if r := call(t, "GET", p.url+"api/me", c, ""); r.status != 200 {
			t.Fatalf("before the race: %d", r.status)
		}
	}
	var done atomic.Int64 // unix ns at which logout returned; 0 before
	var late atomic.Int64
	served := make([]atomic.Int64, len(ps)) // 200s before the logout, by instance
	after := make([]atomic.Int64, len(ps))  // answers to requests begun after it returned
	stop := make(chan struct{})
	var hw sync.WaitGroup
	halt := sync.OnceFunc(func() { close(stop); hw.Wait() })
	defer halt() // also when a check below fails: the goroutines report through t
	for i, p := range ps[1:] {
		i := i + 1
		for range 3 {
			hw.Add(1)
			go func() {
				defer hw.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					began := time.Now().UnixNano()
					st := call(t, "GET", p.url+"api/me", c, "").status
					switch d := done.Load(); {
					case d != 0 && began > d:
						after[i].Add(1)
						if st == 200 {
							late.Add(1)
						}
					case d == 0 && st == 200:
						served[i].Add(1)
					}
				}
			}()
		}
	}
	// The race is on only once B and C are serving the credential, and it
	// is checked only by requests that began after the logout returned:
	// wait for both, on each instance, rather than for times that usually
	// bring them.
	waitFor(t, patience, "B and C serve the credential before the logout", func() bool {
		return served[1].Load() > 0 && served[2].Load() > 0
	})
	if r := call(t, "POST", ps[0].url+"logout", c, c.RefreshBody()); r.status != 200 {
		t.Fatalf("logout during the race: %d", r.status)
	}
	done.Store(time.Now().UnixNano())
	waitFor(t, patience, "B and C have each answered 3 requests begun after the logout returned", func() bool {
		return after[1].Load() >= 3 && after[2].Load() >= 3
	})
	halt()
	if late.Load() != 0 {
		t.Fatalf("%d requests that began after logout returned were served 200", late.Load())
	}
}

type reply struct {
	status int
	body   string
	h      http.Header
}

// client gives up on a request only when it is hung: a logout may wait 5 s
// for acknowledgements before its store write, and a loaded machine
// stretches that.
var client = &http.Client{Timeout: patience}

func call(t *testing.T, method, u string, c apiclient.Cred, body string) reply {
	req, err := apiclient.NewRequest(context.Background(), method, u, c, body)
	if err != nil {
		t.Error(err)
		return reply{}
	}
	res, err := client.Do(req)
	if err != nil {
		t.Errorf("%s %s: %v", method, u, err)
		return reply{}
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(res.Body, 1<<16))
	return reply{status: res.StatusCode, body: apiclient.RedactBody(b), h: res.Header}
}

func login(t *testing.T, base, email, mode string) apiclient.Cred {
	body := apiclient.LoginBody(email, "correct horse battery staple", mode == "jwt")
	req, _ := apiclient.NewRequest(context.Background(), "POST", base+"login", apiclient.Cred{}, body)
	res, err := client.Do(req)
	if err != nil {
		t.Errorf("login: %v", err)
		return apiclient.Cred{}
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		t.Errorf("login at %s: %d %s", base, res.StatusCode, apiclient.RedactBody(raw))
		return apiclient.Cred{}
	}
	c, ok := apiclient.FromLogin(res.Header, raw)
	if !ok {
		t.Errorf("login at %s gave no credential", base)
	}
	return c
}

func rnd(prefix string) string {
	var b [6]byte
	rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// pgSchema creates an empty schema, dropped when the test ends, and returns
// the store URL that puts the instances in it.
func pgSchema(t *testing.T, base string) string {
	t.Helper()
	name := rnd("signoff_m_")
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // after the instances are killed (cleanups run last first)
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close(ctx)
		conn.Exec(ctx, "DROP SCHEMA "+name+" CASCADE")
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String()
}

// redisPrefix returns the sessions URL with a key prefix of this test's own.
func redisPrefix(t *testing.T, base string) string {
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	prefix := rnd("signoffm") + ":"
	opt, err := redis.ParseURL(base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // the bus's keys have no TTL
		c := redis.NewClient(opt)
		defer c.Close()
		ctx := context.Background()
		it := c.Scan(ctx, 0, prefix+"*", 500).Iterator()
		for it.Next(ctx) {
			c.Del(ctx, it.Val())
		}
	})
	q := u.Query()
	q.Set("prefix", prefix)
	u.RawQuery = q.Encode()
	return u.String()
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// tokenKid is the kid in an access token's header.
func tokenKid(t *testing.T, tok string) string {
	t.Helper()
	h, _, _ := strings.Cut(tok, ".")
	b, err := base64.RawURLEncoding.DecodeString(h)
	var hdr struct{ Kid string }
	if err != nil || json.Unmarshal(b, &hdr) != nil || hdr.Kid == "" {
		t.Fatal("no kid in the token's header")
	}
	return hdr.Kid
}
