package memstore_test

import (
	"testing"

	"github.com/signoff/signoff"
	"github.com/signoff/signoff/store/memstore"
	"github.com/signoff/signoff/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) signoff.Store { return memstore.New() })
}
