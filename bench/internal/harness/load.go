package harness

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// The load generator speaks HTTP/1.1 over raw keep-alive connections: it
// writes a request prepared once and reads the response with a small
// parser. net/http's client costs several times more CPU per request, and
// on a two-core machine every cycle the generator spends is one the server
// under test does not get.

// Bounds on what one load run may ask for.
const (
	MaxClients  = 256
	MaxDuration = time.Minute
)

// LoadResult is what a load run counted during its measured window, and
// outside it.
type LoadResult struct {
	Elapsed time.Duration
	OK      int64 // 2xx responses
	Other   int64 // responses with another status
	Errs    int64 // connection or protocol errors (each one reconnects)
	// Outside counts the same before the window (the warm-up) and after
	// it (the requests in flight when it ended).
	Outside struct{ OK, Other, Errs int64 }
}

// Rate is 2xx responses per second of the measured window, 0 when nothing
// was measured.
func (r LoadResult) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.OK) / r.Elapsed.Seconds()
}

// loadCounter is one client's counts, padded to a cache line of its own.
type loadCounter struct {
	ok, other, errs atomic.Int64
	_               [40]byte
}

// Load drives GET base+path from k keep-alive clients: client i sends
// headers[i%len(headers)], zero or more header lines separated by CRLF
// without a final one (for example a Cookie or an Authorization line; none
// when headers is empty). It runs for warm, then counts responses for d,
// then stops; no connection outlives warm+d+5s. base must be
// http://127.0.0.1:PORT/, k at most MaxClients, warm and d at most
// MaxDuration each. mark, when not nil, is called as the measured window
// begins and as it ends. When ctx ends first, Load returns ctx's error.
func Load(ctx context.Context, base, path string, headers []string, k int, warm, d time.Duration, mark func()) (LoadResult, error) {
	return load(ctx, base, path, headers, false, k, warm, d, mark)
}

// LoadRandom is Load with every request's header lines drawn at random from
// headers, independently for each request of each client: traffic from
// many users, each presenting a credential of their own.
func LoadRandom(ctx context.Context, base, path string, headers []string, k int, warm, d time.Duration, mark func()) (LoadResult, error) {
	return load(ctx, base, path, headers, true, k, warm, d, mark)
}

func load(ctx context.Context, base, path string, headers []string, random bool, k int, warm, d time.Duration, mark func()) (LoadResult, error) {
	rs, err := loadTargets(ctx, []Target{{Base: base, Path: path, Headers: headers, Random: random}}, k, warm, d, mark)
	if err != nil {
		return LoadResult{}, err
	}
	return rs[0], nil
}

// Target is one server of a load run: GET Base+Path with Load's header
// lines (Headers), drawn at random for every request when Random is set,
// as LoadRandom's; and the processes whose CPU time counts for it (each
// with its descendants), when the run measures CPU.
type Target struct {
	Base, Path string
	Headers    []string
	Random     bool
	PIDs       []int
}

// loadTargets is Load against every target at once, k clients each, over
// one warm-up and one measured window: the results in the order of ts.
func loadTargets(ctx context.Context, ts []Target, k int, warm, d time.Duration, mark func()) ([]LoadResult, error) {
	if k < 1 || k > MaxClients/len(ts) {
		return nil, fmt.Errorf("load: %d clients a server, %d servers: want 1 to %d in all", k, len(ts), MaxClients)
	}
	if d <= 0 || d > MaxDuration || warm < 0 || warm > MaxDuration {
		return nil, fmt.Errorf("load: duration %v, warm-up %v: want at most %v each", d, warm, MaxDuration)
	}
	hosts := make([]string, len(ts))
	reqs := make([][][]byte, len(ts))
	for j, t := range ts {
		u, err := url.Parse(t.Base)
		if err != nil {
			return nil, err
		}
		if u.Scheme != "http" || u.Hostname() != "127.0.0.1" {
			return nil, fmt.Errorf("load: refusing to target %s: only http://127.0.0.1 is allowed", t.Base)
		}
		headers := t.Headers
		if len(headers) == 0 {
			headers = []string{""}
		}
		hosts[j] = u.Host
		for _, h := range headers {
			reqs[j] = append(reqs[j], request(u.Host, t.Path, h))
		}
	}

	counts := make([][]loadCounter, len(ts))
	var stop atomic.Bool
	hardEnd := time.Now().Add(warm + d + 5*time.Second) // no connection outlives this
	var wg sync.WaitGroup
	for j, t := range ts {
		counts[j] = make([]loadCounter, k)
		rq := reqs[j]
		for i := range k {
			wg.Add(1)
			next := func() []byte { return rq[i%len(rq)] }
			if t.Random {
				rng := rand.New(rand.NewPCG(uint64(i), rand.Uint64()))
				next = func() []byte { return rq[rng.IntN(len(rq))] }
			}
			go func() {
				defer wg.Done()
				drive(ctx, hosts[j], next, &counts[j][i], &stop, hardEnd)
			}()
		}
	}
	total := func() []LoadResult {
		rs := make([]LoadResult, len(ts))
		for j := range counts {
			for i := range counts[j] {
				rs[j].OK += counts[j][i].ok.Load()
				rs[j].Other += counts[j][i].other.Load()
				rs[j].Errs += counts[j][i].errs.Load()
			}
		}
		return rs
	}
	wait := func(d time.Duration) bool {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return true
		}
	}
	if mark == nil {
		mark = func() {}
	}
	ok := wait(warm)
	mark()
	before, t0 := total(), time.Now()
	ok = ok && wait(d)
	after, t1 := total(), time.Now()
	mark()
	stop.Store(true)
	wg.Wait()
	if !ok {
		return nil, ctx.Err()
	}
	all := total()
	rs := make([]LoadResult, len(ts))
	for j := range rs {
		r := &rs[j]
		r.Elapsed = t1.Sub(t0)
		r.OK, r.Other, r.Errs = after[j].OK-before[j].OK, after[j].Other-before[j].Other, after[j].Errs-before[j].Errs
		r.Outside.OK, r.Outside.Other, r.Outside.Errs = all[j].OK-r.OK, all[j].Other-r.Other, all[j].Errs-r.Errs
	}
	return rs, nil
}

// request is the GET of path that Load's clients send to host, with the
// header lines of headers (CRLF-separated, none when empty).
func request(host, path, headers string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: signoff-bench\r\n", path, host)
	if headers != "" {
		b.WriteString(headers + "\r\n")
	}
	b.WriteString("\r\n")
	return b.Bytes()
}

// Fetch sends the very request a Load client sends (GET base+path with the
// header lines of headers) on a connection of its own and returns the
// response with its body read (at most 1 MiB). base must be
// http://127.0.0.1:PORT/. The response's Header keeps every header the
// server sent but Transfer-Encoding, Date included.
func Fetch(ctx context.Context, base, path, headers string) (*http.Response, []byte, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, nil, err
	}
	if u.Scheme != "http" || u.Hostname() != "127.0.0.1" {
		return nil, nil, fmt.Errorf("fetch: refusing to target %s: only http://127.0.0.1 is allowed", base)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", u.Host)
	if err != nil {
		return nil, nil, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := conn.Write(request(u.Host, path, headers)); err != nil {
		return nil, nil, err
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return nil, nil, fmt.Errorf("GET %s: %w", path, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	return res, body, err
}

// MeasureLoad is Load with the CPU time of the processes pids (each with
// its descendants, as SampleCPU reads them) taken as the measured window
// begins and as it ends: the CPUUse is that window's.
func MeasureLoad(ctx context.Context, base, path string, headers []string, k int, warm, d time.Duration, pids ...int) (LoadResult, CPUUse, error) {
	return measureLoad(ctx, base, path, headers, false, k, warm, d, nil, pids)
}

// MeasureLoadRandom is MeasureLoad with LoadRandom's requests.
func MeasureLoadRandom(ctx context.Context, base, path string, headers []string, k int, warm, d time.Duration, pids ...int) (LoadResult, CPUUse, error) {
	return measureLoad(ctx, base, path, headers, true, k, warm, d, nil, pids)
}

// MeasureLoadRandomMarked is MeasureLoadRandom that also calls mark when
// the measured window opens and when it closes, for a figure of its own
// over the same window (a server log's offset, say).
func MeasureLoadRandomMarked(ctx context.Context, base, path string, headers []string, k int, warm, d time.Duration, mark func(), pids ...int) (LoadResult, CPUUse, error) {
	return measureLoad(ctx, base, path, headers, true, k, warm, d, mark, pids)
}

func measureLoad(ctx context.Context, base, path string, headers []string, random bool, k int, warm, d time.Duration, mark func(), pids []int) (LoadResult, CPUUse, error) {
	var marks []CPUSample
	res, err := load(ctx, base, path, headers, random, k, warm, d, func() {
		marks = append(marks, SampleCPU(pids...))
		if mark != nil {
			mark()
		}
	})
	if err != nil {
		return res, CPUUse{}, err
	}
	return res, marks[0].To(marks[1]), nil
}

// MeasureTogether loads every target at once, k clients each, over one
// warm-up and one measured window, and takes the CPU time of each
// target's PIDs at that window's edges: servers measured side by side on
// the same machine at the same moments, so that what slows the machine
// for a while slows each of them alike. The results and the uses are in
// the order of ts, a use's Server one per PID of its target.
func MeasureTogether(ctx context.Context, ts []Target, k int, warm, d time.Duration) ([]LoadResult, []CPUUse, error) {
	if len(ts) == 0 {
		return nil, nil, fmt.Errorf("load: no server to measure")
	}
	var pids []int
	for _, t := range ts {
		pids = append(pids, t.PIDs...)
	}
	var marks []CPUSample
	rs, err := loadTargets(ctx, ts, k, warm, d, func() { marks = append(marks, SampleCPU(pids...)) })
	if err != nil {
		return nil, nil, err
	}
	use := marks[0].To(marks[1])
	uses := make([]CPUUse, len(ts))
	at := 0
	for j, t := range ts {
		uses[j] = use
		uses[j].Server = use.Server[at : at+len(t.PIDs)]
		at += len(t.PIDs)
	}
	return rs, uses, nil
}

// MeasurePair is MeasureTogether for two servers, a and b, started in
// the order b, a when swap is set (a run swaps them every other round, so
// that neither is always the first one loaded). The results and the uses
// are in the order a, b whichever way they ran.
func MeasurePair(ctx context.Context, a, b Target, swap bool, k int, warm, d time.Duration) ([2]LoadResult, [2]CPUUse, error) {
	first, second := 0, 1
	if swap {
		first, second = 1, 0
	}
	ts := make([]Target, 2)
	ts[first], ts[second] = a, b
	rs, us, err := MeasureTogether(ctx, ts, k, warm, d)
	if err != nil {
		return [2]LoadResult{}, [2]CPUUse{}, err
	}
	return [2]LoadResult{rs[first], rs[second]}, [2]CPUUse{us[first], us[second]}, nil
}

// drive is one client: it sends next's request on one connection until stop, opening
// a new connection after an error or a Connection: close.
func drive(ctx context.Context, host string, next func() []byte, c *loadCounter, stop *atomic.Bool, hardEnd time.Time) {
	var conn net.Conn
	var br *bufio.Reader
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	dialer := net.Dialer{Timeout: 5 * time.Second}
	for !stop.Load() && ctx.Err() == nil && time.Now().Before(hardEnd) {
		if conn == nil {
			var err error
			conn, err = dialer.DialContext(ctx, "tcp", host)
			if err != nil {
				c.errs.Add(1)
				time.Sleep(10 * time.Millisecond)
				continue
			}
			conn.SetDeadline(hardEnd)
			br = bufio.NewReaderSize(conn, 8<<10)
		}
		status, closing, err := exchange(conn, br, next())
		switch {
		case err != nil:
			c.errs.Add(1)
		case status >= 200 && status < 300:
			c.ok.Add(1)
		default:
			c.other.Add(1)
		}
		if err != nil || closing {
			conn.Close()
			conn = nil
		}
	}
}

// exchange writes req and reads one response, discarding its body.
func exchange(w io.Writer, br *bufio.Reader, req []byte) (status int, closing bool, err error) {
	if _, err := w.Write(req); err != nil {
		return 0, true, err
	}
	return readResponse(br)
}

var errProtocol = errors.New("load: malformed HTTP response")

// readResponse reads one HTTP/1.1 response from br, discards its body
// (Content-Length or chunked), and returns its status and whether the
// server will close the connection.
func readResponse(br *bufio.Reader) (status int, closing bool, err error) {
	line, err := readLine(br)
	if err != nil {
		return 0, true, err
	}
	// "HTTP/1.1 200 OK"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return 0, true, errProtocol
	}
	status, err = strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, true, errProtocol
	}
	length, chunked := -1, false
	for {
		h, err := readLine(br)
		if err != nil {
			return status, true, err
		}
		if len(h) == 0 {
			break
		}
		colon := bytes.IndexByte(h, ':')
		if colon < 0 {
			return status, true, errProtocol
		}
		name, value := h[:colon], bytes.TrimSpace(h[colon+1:])
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			length, err = strconv.Atoi(string(value))
			if err != nil || length < 0 {
				return status, true, errProtocol
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			closing = bytes.EqualFold(value, []byte("close"))
		}
	}
	switch {
	case chunked:
		err = discardChunked(br)
	case length >= 0:
		_, err = br.Discard(length)
	case status == 204 || status == 304 || status < 200:
	default:
		return status, true, errProtocol // body until close: not worth supporting
	}
	return status, closing, err
}

func discardChunked(br *bufio.Reader) error {
	for {
		line, err := readLine(br)
		if err != nil {
			return err
		}
		if i := bytes.IndexByte(line, ';'); i >= 0 {
			line = line[:i]
		}
		n, err := strconv.ParseInt(string(bytes.TrimSpace(line)), 16, 32)
		if err != nil || n < 0 {
			return errProtocol
		}
		if n == 0 { // trailers, then an empty line
			for {
				t, err := readLine(br)
				if err != nil {
					return err
				}
				if len(t) == 0 {
					return nil
				}
			}
		}
		if _, err := br.Discard(int(n)); err != nil {
			return err
		}
		if crlf, err := readLine(br); err != nil || len(crlf) != 0 {
			return errProtocol
		}
	}
}

// readLine returns one line without its CRLF. The slice is valid until the
// next read.
func readLine(br *bufio.Reader) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, bufio.ErrBufferFull) {
			return nil, errProtocol
		}
		return nil, err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

// Visit sends GET base+path once with each of headers (as Load's), from k
// keep-alive clients that share them out, and returns how many answered
// 2xx and how many did not. It is how a benchmark makes a server read every
// one of many credentials before it measures; base must be
// http://127.0.0.1:PORT/.
func Visit(ctx context.Context, base, path string, headers []string, k int) (ok, other int64, err error) {
	u, err := url.Parse(base)
	if err != nil {
		return 0, 0, err
	}
	if u.Scheme != "http" || u.Hostname() != "127.0.0.1" {
		return 0, 0, fmt.Errorf("visit: refusing to target %s: only http://127.0.0.1 is allowed", base)
	}
	if k < 1 || k > MaxClients {
		return 0, 0, fmt.Errorf("visit: %d clients: want 1 to %d", k, MaxClients)
	}
	var (
		wg      sync.WaitGroup
		n       loadCounter
		at      atomic.Int64
		failure atomic.Pointer[error]
	)
	for range k {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var conn net.Conn
			var br *bufio.Reader
			defer func() {
				if conn != nil {
					conn.Close()
				}
			}()
			for ctx.Err() == nil && failure.Load() == nil {
				i := at.Add(1) - 1
				if i >= int64(len(headers)) {
					return
				}
				if conn == nil {
					var d net.Dialer
					c, err := d.DialContext(ctx, "tcp", u.Host)
					if err != nil {
						failure.CompareAndSwap(nil, &err)
						return
					}
					conn = c
					br = bufio.NewReaderSize(conn, 8<<10)
				}
				conn.SetDeadline(time.Now().Add(20 * time.Second))
				status, closing, err := exchange(conn, br, request(u.Host, path, headers[i]))
				if err != nil {
					failure.CompareAndSwap(nil, &err)
					return
				}
				if status >= 200 && status < 300 {
					n.ok.Add(1)
				} else {
					n.other.Add(1)
				}
				if closing {
					conn.Close()
					conn = nil
				}
			}
		}()
	}
	wg.Wait()
	if p := failure.Load(); p != nil {
		return n.ok.Load(), n.other.Load(), fmt.Errorf("visit %s: %w", path, *p)
	}
	return n.ok.Load(), n.other.Load(), ctx.Err()
}
