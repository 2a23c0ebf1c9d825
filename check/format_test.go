package check

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

var update = flag.Bool("update", false, "rewrite golden files")

// golden compares got with testdata/<name>, or rewrites the file with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if bytes.Equal(got, want) {
		return
	}
	gl := strings.Split(string(got), "\n")
	wl := strings.Split(string(want), "\n")
	for i := 0; i < max(len(gl), len(wl)); i++ {
		var g, w string
		if i < len(gl) {
			g = gl[i]
		}
		if i < len(wl) {
			w = wl[i]
		}
		if g != w || i >= len(gl) || i >= len(wl) {
			t.Fatalf("%s differs at line %d (run go test -update to accept):\n got: %q\nwant: %q\n(got %d lines, want %d)",
				path, i+1, g, w, len(gl), len(wl))
		}
	}
	t.Fatalf("%s differs (run go test -update to accept)", path)
}

// sampleReport covers every verdict, several groups, characters that need
// escaping in XML and Mermaid, story and other exchanges, the second
// instance, a transport error and store notes. Its results link to the
// checklist, as a run's do.
func sampleReport() *Report {
	r := &Report{
		Target:      "http://127.0.0.1:8080",
		Second:      "http://127.0.0.1:8081",
		Credentials: "cookie __Host-session",
		Results: []Result{
			{ID: "R1", Title: "Login mints a new session ID; any earlier ID dies", Group: GroupLifecycle, Verdict: Pass,
				Evidence: "login with fp:aaaaaaaaaaaa present set fp:bbbbbbbbbbbb; the old one → 401"},
			{ID: "R4", Title: "Logout invalidates the session on the server", Group: GroupLifecycle, Verdict: Fail,
				Evidence: `after POST /logout → 200, GET /api/me with fp:bbbbbbbbbbbb → 200 <still signed in> & body "ok"; see #4`},
			{ID: "R20", Title: "Credential cookies are short-lived", Group: GroupCookies, Verdict: Skip,
				Evidence: "no cookie set with Max-Age or Expires; session cookies only"},
			{ID: "R34b", Title: "Logout deletes every credential cookie", Group: GroupCookies, Verdict: Warn,
				Evidence: "Set-Cookie __Host-session deleted without Path=/ & Secure; Server: \"evil\x1b[2J\"\nsecond line"},
			{ID: "R12", Title: "Signed-in pages are not cached", Group: GroupCaching, Verdict: Pass,
				Evidence: "GET /api/me → Cache-Control: no-store"},
			{ID: "R51", Title: "Logout on one instance is seen on the others", Group: GroupInstances, Verdict: Fail,
				Evidence: "GET http://127.0.0.1:8081/api/me with fp:bbbbbbbbbbbb: dial tcp 127.0.0.1:8081: connect: connection refused; " +
					strings.Repeat("and a very long explanation <#> ", 8) + "end"},
		},
		Exchanges: []Exchange{
			{Seq: 1, Step: "sign in", Instance: "A", Method: "POST", Path: "/login",
				Sent: []string{"cookie __Host-session=fp:aaaaaaaaaaaa"}, Status: 200,
				Got: []string{"Set-Cookie __Host-session=fp:bbbbbbbbbbbb"}, Story: true,
				Note: "session fp:bbbbbbbbbbbb created"},
			{Seq: 2, Step: "sign in", Method: "GET", Path: "/api/me",
				Sent: []string{"cookie __Host-session=fp:bbbbbbbbbbbb"}, Status: 200, Story: true},
			{Seq: 3, Step: "check cache headers", Instance: "A", Method: "GET", Path: "/api/me",
				Sent: []string{"cookie __Host-session=fp:bbbbbbbbbbbb"}, Status: 200,
				Got: []string{"Cache-Control: no-store"}},
			{Seq: 4, Step: "sign out", Instance: "A", Method: "POST", Path: "/logout",
				Sent: []string{"cookie __Host-session=fp:bbbbbbbbbbbb", "Origin: http://127.0.0.1:8080"}, Status: 200,
				Got: []string{"Set-Cookie __Host-session deleted"}, Story: true,
				Note: "session fp:bbbbbbbbbbbb revoked?"},
			{Seq: 5, Step: "replay the old cookie", Instance: "A", Method: "GET", Path: "/api/me",
				Sent: []string{"cookie __Host-session=fp:bbbbbbbbbbbb"}, Status: 200,
				Got: []string{"X-Debug: a<b>;c#d & \"e\""}, Story: true,
				Note: "session fp:bbbbbbbbbbbb still live <bug>"},
			{Seq: 6, Step: "replay on the second instance", Instance: "B", Method: "GET", Path: "/api/me?token=fp:cccccccccccc",
				Sent: []string{"Bearer fp:cccccccccccc"}, Status: 401, Story: true,
				Note: "B's store has no session fp:cccccccccccc"},
			{Seq: 7, Step: "replay on the second instance", Instance: "B", Method: "GET", Path: "/api/me",
				Sent: []string{"cookie __Host-session=fp:bbbbbbbbbbbb"}, Story: true,
				Err: "dial tcp 127.0.0.1:8081: connect: connection refused"},
			{Seq: 8, Step: "probe refresh", Instance: "A", Method: "POST", Path: "/refresh", Status: 404},
		},
	}
	for i := range r.Results {
		r.Results[i].Ref = checklistRef(r.Results[i].ID)
	}
	return r
}

// okReport has no failure, no second instance, no credentials and no links
// to the checklist.
func okReport() *Report {
	return &Report{
		Target: "https://staging.example.com",
		Results: []Result{
			{ID: "R1", Title: "Login mints a new session ID; any earlier ID dies", Group: GroupLifecycle, Verdict: Pass,
				Evidence: "login set fp:aaaaaaaaaaaa"},
			{ID: "R4", Title: "Logout invalidates the session on the server", Group: GroupLifecycle, Verdict: Pass,
				Evidence: "replaying fp:aaaaaaaaaaaa after logout → 401"},
			{ID: "R40", Title: "Refresh tokens die with the session", Group: GroupTokens, Verdict: Skip,
				Evidence: "POST /refresh → 404: the site has no refresh endpoint"},
		},
		Exchanges: []Exchange{
			{Seq: 1, Step: "sign in", Method: "POST", Path: "/login", Status: 200, Story: true},
		},
	}
}

func render(t *testing.T, f func(*bytes.Buffer) error) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := f(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestFormatGolden(t *testing.T) {
	r := sampleReport()
	for _, tc := range []struct {
		name string
		f    func(*bytes.Buffer) error
	}{
		{"report.txt", func(b *bytes.Buffer) error { return WriteText(b, r, false) }},
		{"report-color.txt", func(b *bytes.Buffer) error { return WriteText(b, r, true) }},
		{"report.json", func(b *bytes.Buffer) error { return WriteJSON(b, r) }},
		{"report.xml", func(b *bytes.Buffer) error { return WriteJUnit(b, r) }},
		{"report.mmd", func(b *bytes.Buffer) error { return WriteDiagram(b, r) }},
		{"ok.txt", func(b *bytes.Buffer) error { return WriteText(b, okReport(), false) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			golden(t, filepath.Join("format", tc.name), render(t, tc.f))
		})
	}
}

func TestWriteDispatch(t *testing.T) {
	r := sampleReport()
	for _, tc := range []struct {
		format string
		direct func(*bytes.Buffer) error
	}{
		{"text", func(b *bytes.Buffer) error { return WriteText(b, r, true) }},
		{"json", func(b *bytes.Buffer) error { return WriteJSON(b, r) }},
		{"junit", func(b *bytes.Buffer) error { return WriteJUnit(b, r) }},
		{"html", func(b *bytes.Buffer) error { return WriteHTML(b, r) }},
	} {
		got := render(t, func(b *bytes.Buffer) error { return Write(b, r, tc.format, true) })
		if want := render(t, tc.direct); !bytes.Equal(got, want) {
			t.Errorf("Write(%q) differs from the direct writer", tc.format)
		}
	}
	err := Write(&bytes.Buffer{}, r, "yaml", false)
	if err == nil || err.Error() != `check: unknown format "yaml" (want text, json, junit or html)` {
		t.Errorf("Write(yaml) = %v", err)
	}
}

type failWriter struct{}

var errWrite = errors.New("disk full")

func (failWriter) Write([]byte) (int, error) { return 0, errWrite }

func TestWriteErrors(t *testing.T) {
	r := sampleReport()
	for name, f := range map[string]func() error{
		"text":    func() error { return WriteText(failWriter{}, r, false) },
		"json":    func() error { return WriteJSON(failWriter{}, r) },
		"junit":   func() error { return WriteJUnit(failWriter{}, r) },
		"diagram": func() error { return WriteDiagram(failWriter{}, r) },
		"html":    func() error { return WriteHTML(failWriter{}, r) },
	} {
		if err := f(); !errors.Is(err, errWrite) {
			t.Errorf("%s: error %v, want the writer's", name, err)
		}
	}
	for _, format := range []string{"text", "json", "junit", "html"} {
		if err := Write(&bytes.Buffer{}, nil, format, false); err == nil {
			t.Errorf("Write(nil report, %q) succeeded", format)
		}
	}
	if err := WriteDiagram(&bytes.Buffer{}, nil); err == nil {
		t.Error("WriteDiagram(nil report) succeeded")
	}
}

func TestFormatText(t *testing.T) {
	r := sampleReport()
	plain := string(render(t, func(b *bytes.Buffer) error { return WriteText(b, r, false) }))
	colored := string(render(t, func(b *bytes.Buffer) error { return WriteText(b, r, true) }))
	if strings.Contains(plain, "\x1b") {
		t.Error("plain text output contains ESC")
	}
	if !strings.Contains(colored, "\x1b[") {
		t.Error("colour output contains no ESC")
	}
	// The colour output is the plain one plus escape sequences.
	if stripped := regexp.MustCompile("\x1b\\[[0-9;]*m").ReplaceAllString(colored, ""); stripped != plain {
		t.Errorf("colour output without its escapes differs from the plain output:\n%s", stripped)
	}
	for _, want := range []string{
		"signoff check http://127.0.0.1:8080 (cookie __Host-session)\n",
		"second instance http://127.0.0.1:8081\n",
		"  WARN  R34b  Logout deletes every credential cookie\n",
		"FAIL  2 of 6 checks failed · 2 pass, 1 warn, 1 skip · 8 requests\n",
		"\nEach ID is explained at " + ChecklistURL + "\nFAIL  2 of 6",
	} {
		if !strings.Contains(plain, want) {
			t.Errorf("text output lacks %q", want)
		}
	}
	if !strings.HasSuffix(plain, "8 requests\n") {
		t.Error("the summary is not the last line")
	}
	lines := strings.Split(plain, "\n")
	if n := len(lines); n != 2+2*len(r.Results)+len(r.Grouped())*2+3+1 {
		t.Errorf("text output has %d lines", n)
	}

	ok := string(render(t, func(b *bytes.Buffer) error { return WriteText(b, okReport(), false) }))
	if !strings.HasPrefix(ok, "signoff check https://staging.example.com\n\n") {
		t.Errorf("header without credentials or second instance: %q", strings.SplitN(ok, "\n", 2)[0])
	}
	if !strings.HasSuffix(ok, "\nOK  no check failed · 2 pass, 0 warn, 1 skip · 1 request\n") {
		t.Errorf("ok summary wrong:\n%s", ok)
	}
	if strings.Contains(ok, "explained at") {
		t.Error("a report whose results carry no Ref names the checklist")
	}
}

func TestFormatTextUnknownGroup(t *testing.T) {
	r := &Report{Target: "http://x", Results: []Result{
		{ID: "R99", Title: "stray", Group: "Elsewhere", Verdict: Fail, Evidence: "e"},
		{ID: "R1", Title: "known", Group: GroupLifecycle, Verdict: Pass},
	}}
	out := string(render(t, func(b *bytes.Buffer) error { return WriteText(b, r, false) }))
	want := "signoff check http://x\n\nSession lifecycle\n  PASS  R1    known\n\nElsewhere\n  FAIL  R99   stray\n              e\n\n" +
		"FAIL  1 of 2 checks failed · 1 pass, 0 warn, 0 skip · 0 requests\n"
	if out != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
}

func TestJSONRoundTrip(t *testing.T) {
	r := sampleReport()
	out := render(t, func(b *bytes.Buffer) error { return WriteJSON(b, r) })
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatal(err)
	}
	sum, _ := m["summary"].(map[string]any)
	for k, want := range map[string]int{
		"checks": len(r.Results), "pass": r.Count(Pass), "fail": r.Count(Fail),
		"warn": r.Count(Warn), "skip": r.Count(Skip), "requests": len(r.Exchanges),
	} {
		if got, _ := sum[k].(float64); int(got) != want {
			t.Errorf("summary.%s = %v, want %d", k, sum[k], want)
		}
	}
	if m["second"] != r.Second || m["target"] != r.Target || m["credentials"] != r.Credentials {
		t.Errorf("target/second/credentials: %v %v %v", m["target"], m["second"], m["credentials"])
	}
	var back struct {
		Results   []Result
		Exchanges []Exchange
	}
	if err := json.Unmarshal(out, &back); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(back.Results) != fmt.Sprint(r.Results) || fmt.Sprint(back.Exchanges) != fmt.Sprint(r.Exchanges) {
		t.Error("results or exchanges do not survive a JSON round trip")
	}

	empty := render(t, func(b *bytes.Buffer) error { return WriteJSON(b, &Report{Target: "http://x"}) })
	m = nil
	if err := json.Unmarshal(empty, &m); err != nil {
		t.Fatal(err)
	}
	if _, ok := m["second"]; ok {
		t.Error("empty second is written")
	}
	if rs, ok := m["results"].([]any); !ok || len(rs) != 0 {
		t.Errorf("results of an empty report = %#v, want []", m["results"])
	}
	if ex, ok := m["exchanges"].([]any); !ok || len(ex) != 0 {
		t.Errorf("exchanges of an empty report = %#v, want []", m["exchanges"])
	}
}

func TestJUnitParses(t *testing.T) {
	r := sampleReport()
	out := render(t, func(b *bytes.Buffer) error { return WriteJUnit(b, r) })
	if !bytes.HasPrefix(out, []byte(xml.Header)) {
		t.Error("no XML header")
	}
	var s junitSuites
	if err := xml.Unmarshal(out, &s); err != nil {
		t.Fatal(err)
	}
	if s.Name != "signoff check" || s.Tests != len(r.Results) || s.Failures != r.Count(Fail) || s.Skipped != r.Count(Skip) {
		t.Errorf("testsuites name=%q tests=%d failures=%d skipped=%d", s.Name, s.Tests, s.Failures, s.Skipped)
	}
	if len(s.Suites) != len(r.Grouped()) {
		t.Fatalf("%d test suites, want %d", len(s.Suites), len(r.Grouped()))
	}
	tests, failures, skipped := 0, 0, 0
	for i, suite := range s.Suites {
		group := r.Grouped()[i]
		if suite.Name != group[0].Group || suite.Tests != len(suite.Cases) || suite.Tests != len(group) {
			t.Errorf("suite %q: tests=%d, %d cases, group %q of %d", suite.Name, suite.Tests, len(suite.Cases), group[0].Group, len(group))
		}
		f, sk := 0, 0
		for j, c := range suite.Cases {
			res := group[j]
			if c.Classname != "signoff check."+res.Group || c.Name != res.ID+" "+res.Title {
				t.Errorf("case classname=%q name=%q", c.Classname, c.Name)
			}
			if c.Properties == nil || len(c.Properties.Property) != 1 ||
				c.Properties.Property[0] != (junitProperty{Name: "ref", Value: res.Ref}) {
				t.Errorf("%s: properties %+v, want ref %s", res.ID, c.Properties, res.Ref)
			}
			switch res.Verdict {
			case Fail:
				f++
				if c.Failure == nil || c.Failure.Type != "FAIL" || c.Failure.Message != clean(res.Evidence) ||
					c.Failure.Text != clean(res.Evidence)+"\nsee "+res.Ref {
					t.Errorf("%s: failure %+v", res.ID, c.Failure)
				}
			case Skip:
				sk++
				if c.Skipped == nil || c.Skipped.Message != clean(res.Evidence) {
					t.Errorf("%s: skipped %+v", res.ID, c.Skipped)
				}
			case Warn:
				if c.SystemOut != "WARN: "+clean(res.Evidence) || c.Failure != nil || c.Skipped != nil {
					t.Errorf("%s: %+v", res.ID, c)
				}
			case Pass:
				if c.SystemOut != clean(res.Evidence) || c.Failure != nil || c.Skipped != nil {
					t.Errorf("%s: %+v", res.ID, c)
				}
			}
		}
		if suite.Failures != f || suite.Skipped != sk {
			t.Errorf("suite %q: failures=%d skipped=%d, want %d %d", suite.Name, suite.Failures, suite.Skipped, f, sk)
		}
		tests += suite.Tests
		failures += suite.Failures
		skipped += suite.Skipped
	}
	if tests != s.Tests || failures != s.Failures || skipped != s.Skipped {
		t.Errorf("suite counts add up to %d/%d/%d, testsuites says %d/%d/%d", tests, failures, skipped, s.Tests, s.Failures, s.Skipped)
	}
}

func TestDiagramSanitised(t *testing.T) {
	r := sampleReport()
	out := string(render(t, func(b *bytes.Buffer) error { return WriteDiagram(b, r) }))
	if !strings.HasPrefix(out, "sequenceDiagram\n") || !strings.HasSuffix(out, "\n") {
		t.Error("not a sequenceDiagram ending in a newline")
	}
	entity := regexp.MustCompile(`#[0-9A-Za-z]+;`)
	for i, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if strings.Contains(entity.ReplaceAllString(line, ""), ";") {
			t.Errorf("line %d has a ';' outside an entity code: %s", i+1, line)
		}
		if strings.Contains(line, "<") {
			t.Errorf("line %d has a raw '<': %s", i+1, line)
		}
		if strings.ContainsAny(line, "\r\x1b") {
			t.Errorf("line %d has a control character: %q", i+1, line)
		}
		if n := utf8.RuneCountInString(line); n > 200 {
			t.Errorf("line %d is %d characters long", i+1, n)
		}
		if strings.Contains(entity.ReplaceAllString(line, ""), "#") {
			t.Errorf("line %d has a '#' outside an entity code: %s", i+1, line)
		}
	}
	for _, want := range []string{
		"    participant B as second instance (http://127.0.0.1:8081)\n",
		"    Note right of C: sign in\n    C->>A: POST /login, cookie __Host-session=fp:aaaaaaaaaaaa\n",
		"    B--xC: error: dial tcp 127.0.0.1:8081: connect: connection refused\n",
		"    Note over B,S: B's store has no session fp:cccccccccccc\n",
		"    Note over C,A: FAIL R4: ",
		"    Note over C,A: FAIL R51: ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("diagram lacks %q", want)
		}
	}
	if strings.Count(out, "Note right of C: sign in\n") != 1 || strings.Count(out, "Note right of C: replay on the second instance\n") != 1 {
		t.Error("a step note is repeated for consecutive exchanges of the same step")
	}
	if strings.Contains(out, "check cache headers") || strings.Contains(out, "/refresh") {
		t.Error("diagram draws exchanges without Story")
	}
	if strings.Index(out, "FAIL R4:") > strings.Index(out, "FAIL R51:") {
		t.Error("failure notes are not in result order")
	}

	// Without a drawn exchange on B there is no participant B.
	ok := string(render(t, func(b *bytes.Buffer) error { return WriteDiagram(b, okReport()) }))
	if strings.Contains(ok, "participant B") || strings.Contains(ok, "FAIL") {
		t.Errorf("diagram of a passing single-instance run:\n%s", ok)
	}
}

func TestDiagramLineCut(t *testing.T) {
	for _, text := range []string{
		strings.Repeat("#", 300),
		strings.Repeat("a", 195) + "<<<<<<",
		strings.Repeat("é", 500),
		strings.Repeat("x", 200-len("    Note over C,A: ")),
	} {
		line := mmdLine("    Note over C,A: ", text)
		body := strings.TrimSuffix(line, "\n")
		if n := utf8.RuneCountInString(body); n > 200 {
			t.Errorf("line of %d characters", n)
		}
		if cut := strings.TrimSuffix(body, "…"); strings.Contains(regexp.MustCompile(`#[0-9a-z]+;`).ReplaceAllString(cut, ""), "#") {
			t.Errorf("entity cut in half: %s", body)
		}
	}
	fits := strings.Repeat("x", 200-len("    Note over C,A: "))
	if got := mmdLine("    Note over C,A: ", fits); got != "    Note over C,A: "+fits+"\n" {
		t.Errorf("a line of exactly 200 characters was cut: %q", got)
	}
}
