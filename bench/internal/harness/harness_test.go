package harness

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	ms := func(vs ...int) []time.Duration {
		ds := make([]time.Duration, len(vs))
		for i, v := range vs {
			ds[i] = time.Duration(v) * time.Millisecond
		}
		return ds
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = 100 - i // unsorted on purpose
	}
	for _, c := range []struct {
		ds   []time.Duration
		p    float64
		want time.Duration
	}{
		{nil, 50, 0},
		{ms(7), 50, 7 * time.Millisecond},
		{ms(7), 99, 7 * time.Millisecond},
		{ms(3, 1, 2), 50, 2 * time.Millisecond},
		{ms(1, 2, 3, 4), 50, 2 * time.Millisecond}, // nearest rank: ceil(0.5×4) = 2nd
		{ms(hundred...), 50, 50 * time.Millisecond},
		{ms(hundred...), 99, 99 * time.Millisecond},
		{ms(hundred...), 100, 100 * time.Millisecond},
		{ms(hundred...), 0.1, 1 * time.Millisecond},
	} {
		if got := Percentile(c.ds, c.p); got != c.want {
			t.Errorf("Percentile(%d samples, %v) = %v, want %v", len(c.ds), c.p, got, c.want)
		}
	}
	ds := ms(3, 1, 2)
	Percentile(ds, 50)
	if ds[0] != 3*time.Millisecond {
		t.Error("Percentile sorted its argument")
	}
	// 200 samples: p99 is the 198th, so the two largest are beyond it.
	two := make([]time.Duration, 200)
	for i := range two {
		two[i] = time.Duration(i+1) * time.Microsecond
	}
	if got := Percentile(two, 99); got != 198*time.Microsecond {
		t.Errorf("p99 of 1..200 µs = %v, want 198µs", got)
	}
}

func TestFormat(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                        "0",
		1234 * time.Nanosecond:   "1.23 µs",
		456789 * time.Nanosecond: "457 µs",
		12345 * time.Microsecond: "12.3 ms",
		2 * time.Second:          "2.00 s",
	} {
		if got := FmtDur(d); got != want {
			t.Errorf("FmtDur(%v) = %q, want %q", d, got, want)
		}
	}
	for v, want := range map[float64]string{0: "0", 12.345: "12.3", 123456: "123000", 98765.4: "98800"} {
		if got := FmtRate(v); got != want {
			t.Errorf("FmtRate(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestReadResponse(t *testing.T) {
	in := "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok" +
		"HTTP/1.1 401 Unauthorized\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nTrailer: 1\r\n\r\n" +
		"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n" +
		"HTTP/1.0 200 OK\r\n\r\nuntil close"
	br := bufio.NewReader(strings.NewReader(in))
	for i, want := range []struct {
		status  int
		closing bool
		err     bool
	}{{200, false, false}, {401, false, false}, {204, true, false}, {200, true, true}} {
		status, closing, err := readResponse(br)
		if status != want.status || closing != want.closing || (err != nil) != want.err {
			t.Errorf("response %d: %d %v %v, want %d %v error=%v", i, status, closing, err, want.status, want.closing, want.err)
		}
	}
}

// The load generator counts a real server's answers, refuses any host but
// 127.0.0.1, and stops on time.
func TestLoad(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Cookie") != "c=1" {
			w.WriteHeader(401)
		}
		w.Write([]byte("ok"))
	}))
	defer srv.Close()
	ctx := context.Background()
	began := time.Now()
	r, err := Load(ctx, srv.URL+"/", "/x", []string{"Cookie: c=1", "Cookie: c=2"}, 4, 20*time.Millisecond, 100*time.Millisecond, nil)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(began); took > 5*time.Second {
		t.Errorf("Load took %v", took)
	}
	if r.OK == 0 || r.Other == 0 || r.Errs != 0 || r.Rate() <= 0 || r.Outside.Errs != 0 {
		t.Errorf("Load: %+v", r)
	}
	for _, u := range []string{"http://localhost:1/", "http://10.0.0.1/", "https://127.0.0.1/"} {
		if _, err := Load(ctx, u, "/", nil, 1, 0, time.Millisecond, nil); err == nil || !strings.Contains(err.Error(), "refusing") {
			t.Errorf("Load(%s): %v, want a refusal", u, err)
		}
	}
	if _, err := Load(ctx, srv.URL+"/", "/", nil, MaxClients+1, 0, time.Millisecond, nil); err == nil {
		t.Error("Load accepted too many clients")
	}
}

// MeasureTogether loads its servers at once, each from clients of its own,
// and keeps their counts and their CPU apart, in the order given.
func TestMeasureTogether(t *testing.T) {
	var hits [2]atomic.Int64
	serve := func(i, status int) *httptest.Server {
		return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits[i].Add(1)
			w.WriteHeader(status)
		}))
	}
	a, b := serve(0, 200), serve(1, 404)
	defer a.Close()
	defer b.Close()
	ctx := context.Background()
	self := os.Getpid()
	ts := []Target{{Base: a.URL + "/", Path: "/a", PIDs: []int{self}}, {Base: b.URL + "/", Path: "/b", PIDs: []int{self, self}}}
	rs, uses, err := MeasureTogether(ctx, ts, 2, 20*time.Millisecond, 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 || len(uses) != 2 {
		t.Fatalf("%d results, %d uses; want 2 and 2", len(rs), len(uses))
	}
	if rs[0].OK == 0 || rs[0].Other != 0 || rs[1].OK != 0 || rs[1].Other == 0 {
		t.Errorf("results %+v, want the first all 2xx and the second all 404", rs)
	}
	if got := rs[0].OK + rs[0].Outside.OK; got > hits[0].Load() {
		t.Errorf("counted %d answers of the first server, which answered %d", got, hits[0].Load())
	}
	if len(uses[0].Server) != 1 || len(uses[1].Server) != 2 || uses[0].Server[0] < 0 {
		t.Errorf("uses %+v: want one figure for the first server and two for the second, known", uses)
	}
	ts[1].Base = "http://10.0.0.1/"
	if _, _, err := MeasureTogether(ctx, ts, 1, 0, time.Millisecond); err == nil || !strings.Contains(err.Error(), "refusing") {
		t.Errorf("MeasureTogether with 10.0.0.1: %v, want a refusal", err)
	}
	if _, _, err := MeasureTogether(ctx, ts[:1], MaxClients+1, 0, time.Millisecond); err == nil {
		t.Error("MeasureTogether accepted too many clients")
	}
}

// MeasurePair gives a's figures first and b's second, swapped or not: a
// answers 200 from one PID, b 404 from two.
func TestMeasurePair(t *testing.T) {
	serve := func(status int) *httptest.Server {
		return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(status) }))
	}
	sa, sb := serve(200), serve(404)
	defer sa.Close()
	defer sb.Close()
	self := os.Getpid()
	a := Target{Base: sa.URL + "/", Path: "/a", PIDs: []int{self}}
	b := Target{Base: sb.URL + "/", Path: "/b", PIDs: []int{self, self}}
	for _, swap := range []bool{false, true} {
		rs, uses, err := MeasurePair(context.Background(), a, b, swap, 1, 10*time.Millisecond, 50*time.Millisecond)
		if err != nil {
			t.Fatalf("swap %v: %v", swap, err)
		}
		if rs[0].OK == 0 || rs[0].Other != 0 || rs[1].OK != 0 || rs[1].Other == 0 {
			t.Errorf("swap %v: results %+v, want a's (all 200) first and b's (all 404) second", swap, rs)
		}
		if len(uses[0].Server) != 1 || len(uses[1].Server) != 2 {
			t.Errorf("swap %v: %d and %d CPU figures, want a's one first and b's two second", swap, len(uses[0].Server), len(uses[1].Server))
		}
	}
}

// Visit sends each header set exactly once; LoadRandom's one client draws
// from all of them, where Load's would send only the first.
func TestVisitAndLoadRandom(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.Header.Get("Cookie")]++
		mu.Unlock()
		w.Write([]byte("ok"))
	}))
	defer srv.Close()
	ctx := context.Background()
	var headers []string
	for i := range 50 {
		headers = append(headers, "Cookie: c="+strconv.Itoa(i))
	}
	ok, other, err := Visit(ctx, srv.URL+"/", "/x", headers, 3)
	if err != nil || ok != 50 || other != 0 {
		t.Fatalf("Visit: %d ok, %d other, %v; want 50, 0, nil", ok, other, err)
	}
	mu.Lock()
	for _, h := range headers {
		if n := seen[strings.TrimPrefix(h, "Cookie: ")]; n != 1 {
			t.Errorf("Visit sent %q %d times, want once", h, n)
		}
	}
	clear(seen)
	mu.Unlock()
	if _, err := LoadRandom(ctx, srv.URL+"/", "/x", headers, 1, 0, 100*time.Millisecond, nil); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) < 2 {
		t.Errorf("LoadRandom's one client sent %d distinct header sets, want many", len(seen))
	}
	if _, _, err := Visit(ctx, "http://10.0.0.1/", "/", headers, 1); err == nil || !strings.Contains(err.Error(), "refusing") {
		t.Errorf("Visit(10.0.0.1): %v, want a refusal", err)
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		vs   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{3, 1, 2}, 2}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := Median(c.vs); got != c.want {
			t.Errorf("Median(%v) = %v, want %v", c.vs, got, c.want)
		}
	}
	vs := []float64{3, 1, 2}
	Median(vs)
	if vs[0] != 3 {
		t.Error("Median sorted its argument")
	}
}

// A child of this process is one of its descendants, and TreeCPU counts
// at least what ProcCPU does.
func TestDescendants(t *testing.T) {
	if _, err := os.Stat("/proc/self/task"); err != nil {
		t.Skip("no /proc here")
	}
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Skip("cannot start sleep:", err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	self := os.Getpid()
	if ds := Descendants(self); !slices.Contains(ds, cmd.Process.Pid) {
		t.Errorf("Descendants(self) = %v, want it to hold the child %d", ds, cmd.Process.Pid)
	}
	own, tree := ProcCPU(self), TreeCPU(self)
	if own < 0 || tree < own {
		t.Errorf("ProcCPU(self) = %v, TreeCPU(self) = %v", own, tree)
	}
	if ProcCPU(-1) != -1 || TreeCPU(-1) != -1 {
		t.Error("CPU of no process is not -1")
	}
	s := SampleCPU(self, -1)
	u := s.To(SampleCPU(self, -1))
	if len(u.Server) != 2 || u.Server[1] != -1 {
		t.Errorf("CPUUse of an unknown process: %+v", u)
	}
}

// Both ways of finding children agree on this process's child.
func TestChildrenByParent(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc here")
	}
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Skip("cannot start sleep:", err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	if kids := childrenByParent()(os.Getpid()); !slices.Contains(kids, cmd.Process.Pid) {
		t.Errorf("childrenByParent: %v, want it to hold %d", kids, cmd.Process.Pid)
	}
}

// Fetch sends what a Load client sends and returns every header but the
// transfer encoding; it refuses any host but 127.0.0.1.
func TestFetch(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.UserAgent() != "signoff-bench" || r.Header.Get("X-A") != "1" || r.Header.Get("X-B") != "2" {
			w.WriteHeader(400)
			return
		}
		w.Header().Set("X-Answer", "yes")
		w.Write([]byte("body"))
	}))
	defer srv.Close()
	res, body, err := Fetch(context.Background(), srv.URL+"/", "/p", "X-A: 1\r\nX-B: 2")
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 || string(body) != "body" || res.Header.Get("X-Answer") != "yes" || res.Header.Get("Date") == "" || res.Header.Get("Content-Length") != "4" {
		t.Errorf("Fetch: %d %v %q", res.StatusCode, res.Header, body)
	}
	if _, _, err := Fetch(context.Background(), "http://localhost:1/", "/", ""); err == nil || !strings.Contains(err.Error(), "refusing") {
		t.Errorf("Fetch(localhost): %v, want a refusal", err)
	}
}

func TestFill(t *testing.T) {
	if s, err := Fill("t", "a {{X}} {{X}} b", map[string]string{"X": "1"}); err != nil || s != "a 1 1 b" {
		t.Errorf("Fill: %q %v", s, err)
	}
	if _, err := Fill("t", "a {{X}} {{Y}}", map[string]string{"X": "1"}); err == nil || !strings.Contains(err.Error(), "{{Y}}") {
		t.Errorf("Fill left a placeholder without an error: %v", err)
	}
}
