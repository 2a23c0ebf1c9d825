package server

import (
	"math"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// The series every request adds to (its route's count and latency, the
// authentication's outcome) are sharded: a Prometheus counter or histogram
// is one set of atomics that every core adds to, and two cores adding to
// the same cache line at once wait for each other (BenchmarkMetricsPerRequest
// on two cores). Here each series is shards copies, an add goes to one of
// them picked at random, and a scrape adds them up: the same series, the
// same values, as prometheus.CounterVec and HistogramVec give.

// shards is how many copies of a series there are; a power of two.
const shards = 8

// cacheLine is the size the copies are padded to.
const cacheLine = 64

// shard picks the copy an add goes to.
func shard() uint32 { return rand.Uint32() & (shards - 1) }

// shardedCounter is a counter of shards copies.
type shardedCounter struct {
	cells [shards]struct {
		n atomic.Uint64
		_ [cacheLine - 8]byte
	}
}

// Inc adds one.
func (c *shardedCounter) Inc() { c.inc(shard()) }

// inc adds one to copy i.
func (c *shardedCounter) inc(i uint32) { c.cells[i].n.Add(1) }

func (c *shardedCounter) value() float64 {
	var n uint64
	for i := range c.cells {
		n += c.cells[i].n.Load()
	}
	return float64(n)
}

// shardedHistogram is a histogram over latencyBuckets of shards copies.
// Its count is the sum of its buckets', so that a scrape always sees a
// count equal to its +Inf bucket.
type shardedHistogram struct {
	cells [shards]struct {
		counts [len(latencyBuckets) + 1]atomic.Uint64 // the last: above every bound
		sum    atomic.Uint64                          // math.Float64bits
		_      [cacheLine]byte
	}
}

// observe adds v (in seconds) to copy i.
func (h *shardedHistogram) observe(i uint32, v float64) {
	// The first bound at least v: Prometheus's buckets are "less or
	// equal". Most requests take less than the first.
	b := 0
	for b < len(latencyBuckets) && v > latencyBuckets[b] {
		b++
	}
	c := &h.cells[i]
	c.counts[b].Add(1)
	for {
		old := c.sum.Load()
		if c.sum.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+v)) {
			return
		}
	}
}

// metric is h as a constant Prometheus histogram with labels.
func (h *shardedHistogram) metric(desc *prometheus.Desc, labels ...string) prometheus.Metric {
	var counts [len(latencyBuckets) + 1]uint64
	sum := 0.0
	for i := range h.cells {
		c := &h.cells[i]
		for j := range counts {
			counts[j] += c.counts[j].Load()
		}
		sum += math.Float64frombits(c.sum.Load())
	}
	buckets := make(map[float64]uint64, len(latencyBuckets))
	var n uint64
	for j, le := range latencyBuckets {
		n += counts[j]
		buckets[le] = n
	}
	n += counts[len(latencyBuckets)]
	return prometheus.MustNewConstHistogram(desc, n, sum, buckets, labels...)
}

// routeCode names the series of one route and status.
type routeCode struct {
	route string
	code  int
}

// routeSeries are the series a request of one route and status adds to.
type routeSeries struct {
	requests *shardedCounter
	seconds  *shardedHistogram // shared by the route's statuses
}

// httpMetrics are signoff_http_requests_total (route, code) and
// signoff_http_request_seconds (route), each series made at its first
// request. A request reads the table without a lock; a new series copies
// it.
type httpMetrics struct {
	requests, seconds *prometheus.Desc
	mu                sync.Mutex // held to add a series
	table             atomic.Pointer[map[routeCode]routeSeries]
}

func newHTTPMetrics() *httpMetrics {
	h := &httpMetrics{
		requests: prometheus.NewDesc("signoff_http_requests_total",
			"HTTP requests by route pattern (- when none matched) and status code.", []string{"route", "code"}, nil),
		seconds: prometheus.NewDesc("signoff_http_request_seconds",
			"HTTP request latency by route pattern.", []string{"route"}, nil),
	}
	h.table.Store(&map[routeCode]routeSeries{})
	return h
}

// series returns the series of k, made if it is the first of its kind.
func (h *httpMetrics) series(k routeCode) routeSeries {
	if s, ok := (*h.table.Load())[k]; ok {
		return s
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	old := *h.table.Load()
	if s, ok := old[k]; ok {
		return s
	}
	s := routeSeries{requests: &shardedCounter{}, seconds: &shardedHistogram{}}
	for o, os := range old {
		if o.route == k.route {
			s.seconds = os.seconds
			break
		}
	}
	t := make(map[routeCode]routeSeries, len(old)+1)
	for o, os := range old {
		t[o] = os
	}
	t[k] = s
	h.table.Store(&t)
	return s
}

func (h *httpMetrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- h.requests
	ch <- h.seconds
}

func (h *httpMetrics) Collect(ch chan<- prometheus.Metric) {
	seen := map[string]bool{}
	for k, s := range *h.table.Load() {
		ch <- prometheus.MustNewConstMetric(h.requests, prometheus.CounterValue, s.requests.value(), k.route, strconv.Itoa(k.code))
		if !seen[k.route] {
			seen[k.route] = true
			ch <- s.seconds.metric(h.seconds, k.route)
		}
	}
}

// authMetrics is signoff_authentications_total (cache, result), every
// series there from the start.
type authMetrics struct {
	desc   *prometheus.Desc
	series [2][len(authResults)]shardedCounter // [hit][result index]
}

// cacheLabels are the values of the cache label, by hit.
var cacheLabels = [2]string{"miss", "hit"}

func newAuthMetrics() *authMetrics {
	return &authMetrics{desc: prometheus.NewDesc("signoff_authentications_total",
		"Credentials checked, by cache (hit: memory answered; miss: the store was read) and result (ok, refused, unavailable).",
		[]string{"cache", "result"}, nil)}
}

func (a *authMetrics) Describe(ch chan<- *prometheus.Desc) { ch <- a.desc }

func (a *authMetrics) Collect(ch chan<- prometheus.Metric) {
	for hit, cache := range cacheLabels {
		for j, r := range authResults {
			ch <- prometheus.MustNewConstMetric(a.desc, prometheus.CounterValue, a.series[hit][j].value(), cache, r)
		}
	}
}
