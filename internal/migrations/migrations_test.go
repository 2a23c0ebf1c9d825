package migrations

import (
	"testing"
	"testing/fstest"
)

func TestLoad(t *testing.T) {
	good := fstest.MapFS{
		"m/0002_b.sql": {Data: []byte("B")},
		"m/0001_a.sql": {Data: []byte("A")},
		"m/README":     {Data: []byte("not a step")},
	}
	steps, err := Load(good, "m")
	if Latest(good, "m") != 2 || Latest(fstest.MapFS{}, "m") != 0 {
		t.Fatal("Latest")
	}
	if err != nil || len(steps) != 2 || steps[0].Version != 1 || steps[1].SQL != "B" || steps[0].Name != "0001_a.sql" {
		t.Fatalf("Load = %+v, %v", steps, err)
	}
	for name, fsys := range map[string]fstest.MapFS{
		"no number":  {"m/init.sql": {}},
		"zero":       {"m/0000_x.sql": {}},
		"one number": {"m/0001_a.sql": {}, "m/1_b.sql": {}},
		"empty":      {},
	} {
		if _, err := Load(fsys, "m"); err == nil {
			t.Errorf("%s: Load accepted it", name)
		}
	}
}
