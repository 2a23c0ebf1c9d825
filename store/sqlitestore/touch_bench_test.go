package sqlitestore_test

import (
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/signoff/signoff"
	"github.com/signoff/signoff/internal/testenv"
	"github.com/signoff/signoff/store/sqlitestore"
)

// BenchmarkTouchSessions writes last-seen times as the Manager's toucher
// does, in batches of 512 sessions drawn at random from 100,000: the store's
// share of what an authenticated request costs at that scale
// (bench/cmd/scale, "last-seen writes due"). ns/op is per touch, and
// cpu-ns/op the process's CPU time per touch: the figure the scale harness
// counts, apart from the time a commit waits for the disk.
func BenchmarkTouchSessions(b *testing.B) {
	const n, batch = 100_000, 512
	path := filepath.Join(b.TempDir(), "touch.db")
	s := open(b, path)
	base := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	us := base.UnixMicro()
	err := sqlitestore.ExecForTest(s, `WITH RECURSIVE i(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM i WHERE n < ?1)
		INSERT INTO sessions (id, user_id, token_hash, auth_version, created_at, last_seen_at, expires_at, user_agent, ip)
		SELECT 'ses_' || lower(hex(randomblob(16))), 'usr_' || n, randomblob(32), 0, ?2, ?2, ?3, 'Mozilla/5.0 (X11; Linux x86_64)', '192.0.2.1' FROM i`,
		n, us, base.Add(24*time.Hour).UnixMicro())
	if err != nil {
		b.Fatal(err)
	}
	rows, err := sqlitestore.QueryForTest(s, `SELECT id FROM sessions`)
	if err != nil {
		b.Fatal(err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			b.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil || len(ids) != n {
		b.Fatalf("%d sessions seeded, %v; want %d", len(ids), err, n)
	}
	ts := make([]signoff.Touch, batch)
	at := base
	b.ResetTimer()
	cpu0 := testenv.ProcessCPU()
	for i := 0; i < b.N; i += batch {
		at = at.Add(time.Second)
		for j := range ts {
			ts[j] = signoff.Touch{SessionID: ids[rand.IntN(n)], At: at}
		}
		if err := s.TouchSessions(ctx, ts[:min(batch, b.N-i)]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(testenv.ProcessCPU()-cpu0)/float64(b.N), "cpu-ns/op")
}

// BenchmarkRevokeUserSessions ends every session of a user who has 100,000
// (logout everywhere, bench/cmd/writes "everywhere"): the store's share. A
// new user's sessions are made before each revocation, outside the timer,
// through another connection to the file, as bench/cmd/writes makes them
// (and as an admin command's writes reach signoff serve's): the writer
// then starts from a page cache that the other's commit made stale.
func BenchmarkRevokeUserSessions(b *testing.B) {
	const n = 100_000
	path := filepath.Join(b.TempDir(), "revoke.db")
	s := open(b, path)
	other := open(b, path)
	base := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		user := "usr_" + strconv.Itoa(i)
		err := sqlitestore.ExecForTest(other, `WITH RECURSIVE i(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM i WHERE n < ?1)
			INSERT INTO sessions (id, user_id, token_hash, auth_version, created_at, last_seen_at, expires_at)
			SELECT 'ses_' || lower(hex(randomblob(16))), ?2, randomblob(32), 0, ?3, ?3, ?4 FROM i`,
			n, user, base.UnixMicro(), base.Add(24*time.Hour).UnixMicro())
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		ended, _, err := s.RevokeUserSessions(ctx, user, base.Add(time.Minute))
		if err != nil || ended != n {
			b.Fatalf("RevokeUserSessions = %d, %v; want %d", ended, err, n)
		}
	}
}
