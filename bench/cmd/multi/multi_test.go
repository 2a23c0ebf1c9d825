package main

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
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
		if got := percentile(c.ds, c.p); got != c.want {
			t.Errorf("percentile(%d samples, %v) = %v, want %v", len(c.ds), c.p, got, c.want)
		}
	}
	ds := ms(3, 1, 2)
	percentile(ds, 50)
	if ds[0] != 3*time.Millisecond {
		t.Error("percentile sorted its argument")
	}
	// 200 samples: p99 is the 198th, so the two largest are beyond it.
	two := make([]time.Duration, 200)
	for i := range two {
		two[i] = time.Duration(i+1) * time.Microsecond
	}
	if got := percentile(two, 99); got != 198*time.Microsecond {
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
		if got := fmtDur(d); got != want {
			t.Errorf("fmtDur(%v) = %q, want %q", d, got, want)
		}
	}
	for v, want := range map[float64]string{0: "0", 12.345: "12.3", 123456: "123000", 98765.4: "98800"} {
		if got := fmtRate(v); got != want {
			t.Errorf("fmtRate(%v) = %q, want %q", v, got, want)
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
	r, err := load(ctx, srv.URL+"/", "/x", []string{"Cookie: c=1", "Cookie: c=2"}, 4, 20*time.Millisecond, 100*time.Millisecond, nil)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(began); took > 5*time.Second {
		t.Errorf("load took %v", took)
	}
	if r.ok == 0 || r.other == 0 || r.errs != 0 || r.rate() <= 0 {
		t.Errorf("load: %+v", r)
	}
	for _, u := range []string{"http://localhost:1/", "http://10.0.0.1/", "https://127.0.0.1/"} {
		if _, err := load(ctx, u, "/", nil, 1, 0, time.Millisecond, nil); err == nil || !strings.Contains(err.Error(), "refusing") {
			t.Errorf("load(%s): %v, want a refusal", u, err)
		}
	}
	if _, err := load(ctx, srv.URL+"/", "/", nil, maxClients+1, 0, time.Millisecond, nil); err == nil {
		t.Error("load accepted too many clients")
	}
}
