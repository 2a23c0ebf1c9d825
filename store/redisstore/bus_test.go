package redisstore

import (
	"testing"

	"github.com/signoff/signoff/logbus"
	"github.com/signoff/signoff/logbus/logbustest"
)

// The bus protocol between processes: each handle is a client of its own on
// one key prefix.
func TestBusConformance(t *testing.T) {
	u := redisURL(t)
	logbustest.Run(t, func(t *testing.T) func() logbus.Log {
		prefix := randomPrefix()
		return func() logbus.Log {
			s, err := Open(ctx, u, Options{Prefix: prefix})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				cleanup(t, s.Client(), prefix)
				s.Close()
			})
			return BusLog(s)
		}
	})
}
