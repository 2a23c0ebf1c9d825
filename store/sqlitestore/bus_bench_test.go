package sqlitestore_test

import (
	"path/filepath"
	"testing"

	"github.com/signoff/signoff/internal/testenv"
	"github.com/signoff/signoff/store/sqlitestore"
)

// BenchmarkBusAfter is the revocation bus's poll with nothing new to read:
// what every instance on SQLite pays each Poll (100 ms) whatever its
// traffic. cpu-ns/op is the process's CPU time per read.
func BenchmarkBusAfter(b *testing.B) {
	s := open(b, filepath.Join(b.TempDir(), "bus.db"))
	l := sqlitestore.BusLog(s)
	if _, err := l.Register(ctx, "inst_bench"); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	cpu0 := testenv.ProcessCPU()
	for range b.N {
		es, err := l.After(ctx, 0)
		if err != nil || len(es) != 0 {
			b.Fatalf("After: %d entries, %v; want none", len(es), err)
		}
	}
	b.ReportMetric(float64(testenv.ProcessCPU()-cpu0)/float64(b.N), "cpu-ns/op")
}
