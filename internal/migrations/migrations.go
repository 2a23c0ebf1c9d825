// Package migrations reads a store's embedded schema steps: files named
// NNNN_what.sql, applied in the order of their number.
package migrations

import (
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
)

// A Step is one migration.
type Step struct {
	Version int
	Name    string // the file name
	SQL     string
}

// Load returns the steps in dir of fsys, by version. A file whose name does
// not start with a positive number and "_", or two files with one number,
// are an error: a step must never be skipped or applied twice.
func Load(fsys fs.FS, dir string) ([]Step, error) {
	files, err := fs.Glob(fsys, path.Join(dir, "*.sql"))
	if err != nil {
		return nil, err
	}
	var out []Step
	for _, f := range files {
		base := path.Base(f)
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: the name must start with a positive number and _", base)
		}
		b, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, err
		}
		out = append(out, Step{Version: v, Name: base, SQL: string(b)})
	}
	slices.SortFunc(out, func(a, b Step) int { return a.Version - b.Version })
	for i := 1; i < len(out); i++ {
		if out[i].Version == out[i-1].Version {
			return nil, fmt.Errorf("migrations %s and %s have one number", out[i-1].Name, out[i].Name)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no migrations in %s", dir)
	}
	return out, nil
}

// Latest is the version the steps in dir of fsys lead to, 0 if they cannot
// be read.
func Latest(fsys fs.FS, dir string) int {
	steps, err := Load(fsys, dir)
	if err != nil {
		return 0
	}
	return steps[len(steps)-1].Version
}
