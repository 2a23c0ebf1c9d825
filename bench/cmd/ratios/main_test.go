package main

import (
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	in := `goos: linux
BenchmarkAuth/BareNetHTTP           	21255613	        10.00 ns/op	       0 B/op	       0 allocs/op
BenchmarkAuth/BareNetHTTP-2         	41594803	         5.00 ns/op	       0 B/op	       0 allocs/op
BenchmarkAuth/golang-jwt-only       	    4207	     50000 ns/op	    3144 B/op	      60 allocs/op
BenchmarkAuth/golang-jwt-only-2     	    7814	     30000 ns/op	    3144 B/op	      60 allocs/op
BenchmarkAuth/BareNetHTTP           	21255613	        12.00 ns/op	       0 B/op	       0 allocs/op
BenchmarkAuth/BareNetHTTP-2         	41594803	         5.00 ns/op	       0 B/op	       0 allocs/op
BenchmarkAuth/golang-jwt-only       	    4207	     70000 ns/op	    3144 B/op	      60 allocs/op
BenchmarkAuth/golang-jwt-only       	    4207	     55000 ns/op	    3144 B/op	      60 allocs/op
BenchmarkAuth/BareNetHTTP           	21255613	        11.00 ns/op	       0 B/op	       0 allocs/op
PASS
ok  	github.com/signoff/signoff/bench	5.971s
`
	var out strings.Builder
	if err := run(strings.NewReader(in), &out, "BareNetHTTP"); err != nil {
		t.Fatal(err)
	}
	want := `| benchmark | cpu | ns/op | ± | B/op | allocs/op | × BareNetHTTP |
|---|--:|--:|--:|--:|--:|--:|
| BareNetHTTP | 1 | 11.0 | 9% | 0 | 0 | 1.00× |
| golang-jwt-only | 1 | 55000 | 27% | 3144 | 60 | 5000× |
| BareNetHTTP | 2 | 5.00 | 0% | 0 | 0 | 1.00× |
| golang-jwt-only | 2 | 30000 | – | 3144 | 60 | 6000× |
`
	if got := out.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if err := run(strings.NewReader("PASS\n"), &out, "BareNetHTTP"); err == nil {
		t.Error("no results: want an error")
	}
}
