//go:build unix

package sqlitestore_test

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/signoff/signoff"
	"github.com/signoff/signoff/store/sqlitestore"
)

// withUmask sets the process umask for the rest of the test. The umask is
// process-wide, so these tests do not run in parallel.
func withUmask(t *testing.T, mask int) {
	t.Helper()
	old := syscall.Umask(mask)
	t.Cleanup(func() { syscall.Umask(old) })
}

func mode(t *testing.T, path string) fs.FileMode {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode().Perm()
}

// write puts one session in s, so the -wal and -shm files exist.
func write(t *testing.T, s *sqlitestore.Store) {
	t.Helper()
	now := time.Now()
	if err := s.CreateSession(ctx, &signoff.Session{ID: "ses_mode", UserID: "usr_mode", CreatedAt: now,
		LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}, nil); err != nil {
		t.Fatal(err)
	}
}

// The database and its -wal and -shm files hold password hashes, emails and
// IP addresses: they are created 0600 whatever the umask, as the jwt key file is.
func TestFilesAre0600(t *testing.T) {
	for _, mask := range []int{0o022, 0o002, 0o000, 0o177} {
		t.Run(fmt.Sprintf("umask %03o", mask), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "modes.db") // before the umask: 0177 leaves a directory no x bit
			withUmask(t, mask)
			write(t, open(t, path))
			for _, p := range []string{path, path + "-wal", path + "-shm"} {
				if m := mode(t, p); m != 0o600 {
					t.Errorf("%s is %v, want -rw-------", filepath.Base(p), m)
				}
			}
		})
	}
}

// Files from an older build, 0664 beside a running process: a new Open takes
// the other users' access away from all three and keeps the group's (a
// backup agent's group is a deliberate choice). A mode is never loosened.
func TestExistingFilesLoseOthersAccess(t *testing.T) {
	withUmask(t, 0o022)
	path := filepath.Join(t.TempDir(), "old.db")
	running := open(t, path)
	write(t, running)
	files := []string{path, path + "-wal", path + "-shm"}
	for _, p := range files {
		if err := os.Chmod(p, 0o664); err != nil {
			t.Fatal(err)
		}
	}
	open(t, path)
	for _, p := range files {
		if m := mode(t, p); m != 0o660 {
			t.Errorf("%s is %v after Open, want -rw-rw----", filepath.Base(p), m)
		}
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	open(t, path)
	if m := mode(t, path); m != 0o600 {
		t.Errorf("a 0600 file is %v after Open, want it unchanged", m)
	}
}
