package sqlitestore_test

import (
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signoff/signoff/internal/sqlitefault"
	"github.com/signoff/signoff/store/sqlitestore"
)

// oneLine checks err is ErrCorrupt, in one line naming path.
func isCorruptLine(t *testing.T, what string, err error, path string) {
	t.Helper()
	if !errors.Is(err, sqlitestore.ErrCorrupt) {
		t.Fatalf("%s: %v; want ErrCorrupt", what, err)
	}
	if msg := err.Error(); strings.ContainsAny(msg, "\r\n") || !strings.Contains(msg, path) {
		t.Fatalf("%s: %q; want one line naming %s", what, msg, path)
	}
}

// Bad blocks in the middle of a closed file with data: Open, Migrate and
// Ping all succeed (they read the first pages only); CheckIntegrity reads
// every page and says the file is damaged, and from then on so does Ping.
func TestCheckIntegrity(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.db")
	sqlitefault.Fill(t, path, 3000, 3000)
	s := open(t, path)
	if err := s.CheckIntegrity(ctx); err != nil {
		t.Fatalf("CheckIntegrity on a sound file: %v", err)
	}
	s.Close()

	sqlitefault.Corrupt(t, path, 4)
	s = open(t, path)
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping before anything read the damaged pages: %v", err)
	}
	isCorruptLine(t, "CheckIntegrity", s.CheckIntegrity(ctx), path)
	isCorruptLine(t, "Ping after CheckIntegrity found damage", s.Ping(ctx), path)
}

// A file whose first page is garbage is not a database: Open says the file
// is damaged rather than "file is not a database (26)".
func TestOpenNotADatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "g.db")
	sqlitefault.Fill(t, path, 10, 10)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	junk := make([]byte, 4096)
	rand.Read(junk)
	if _, err := f.WriteAt(junk, 0); err != nil {
		t.Fatal(err)
	}
	f.Close()
	s, err := sqlitestore.Open(path)
	if err == nil {
		s.Close()
	}
	isCorruptLine(t, "Open", err, path)
}

// Ping reads the data, not only the connection: a store whose tables are
// gone (a wrong file, a botched restore) is not ready.
func TestPingReadsTheData(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "p.db"))
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if err := sqlitestore.ExecForTest(s, `DROP TABLE refresh_tokens`); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(ctx); err == nil {
		t.Fatal("Ping with the refresh_tokens table dropped: nil, want an error")
	}
}

// The cost of the check serve and migrate make at start, on a file of
// 100,000 sessions and 20,000 users (47 MB):
//
//	go test ./store/sqlitestore -run '^$' -bench CheckIntegrity -benchtime 10x
func BenchmarkCheckIntegrity(b *testing.B) {
	path := filepath.Join(b.TempDir(), "big.db")
	sqlitefault.Fill(b, path, 20_000, 100_000)
	s, err := sqlitestore.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	for b.Loop() {
		if err := s.CheckIntegrity(ctx); err != nil {
			b.Fatal(err)
		}
	}
	if st, err := os.Stat(path); err == nil {
		b.ReportMetric(float64(st.Size())/1e6, "MB")
	}
}
