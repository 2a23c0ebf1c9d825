package pgstore_test

import (
	"testing"

	"github.com/signoff/signoff/logbus"
	"github.com/signoff/signoff/logbus/logbustest"
	"github.com/signoff/signoff/store/pgstore"
)

// The bus protocol between processes: each handle has a pool of its own on
// one schema.
func TestBusConformance(t *testing.T) {
	dsn(t)
	logbustest.Run(t, func(t *testing.T) func() logbus.Log {
		schema := freshSchema(t)
		storeOn(t, schema, 4)
		return func() logbus.Log { return pgstore.BusLog(storeOn(t, schema, 4)) }
	})
}
