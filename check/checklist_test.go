package check

import (
	"context"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/signoff/signoff/check/fixture"
)

// checklistPath is docs/checklist.md, the file ChecklistURL names, from
// this package's directory.
const checklistPath = "../docs/checklist.md"

// checklistRow is a requirement's heading in docs/checklist.md: the
// explicit anchor GitHub keeps (#r4), then the ID it anchors.
var checklistRow = regexp.MustCompile(`(?m)^### <a id="([^"]+)"></a>(R[0-9]+[a-z]?) — \S`)

// checklistAnchors returns the anchors of docs/checklist.md's requirement
// rows, each checked to be its ID in lower case and to appear once.
func checklistAnchors(t *testing.T) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(checklistPath)
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]bool{}
	for _, m := range checklistRow.FindAllStringSubmatch(string(b), -1) {
		anchor, id := m[1], m[2]
		if anchor != strings.ToLower(id) {
			t.Errorf("%s: the row of %s is anchored as #%s, want #%s", checklistPath, id, anchor, strings.ToLower(id))
		}
		if anchors[anchor] {
			t.Errorf("%s: #%s anchors two rows", checklistPath, anchor)
		}
		anchors[anchor] = true
	}
	if len(anchors) == 0 {
		t.Fatalf("%s: no requirement rows (### <a id=\"r4\"></a>R4 — …)", checklistPath)
	}
	return anchors
}

// TestChecklistHasEveryCheck: every ID a run can report has its row in
// docs/checklist.md, where its findings link (Result.Ref), so a new check
// cannot ship without saying what it asks.
func TestChecklistHasEveryCheck(t *testing.T) {
	if !strings.HasSuffix(ChecklistURL, "/"+strings.TrimPrefix(checklistPath, "../")) {
		t.Fatalf("ChecklistURL %s does not name %s", ChecklistURL, checklistPath)
	}
	anchors := checklistAnchors(t)
	for _, ck := range checks {
		ref := checklistRef(ck.id)
		anchor, ok := strings.CutPrefix(ref, ChecklistURL+"#")
		if !ok {
			t.Fatalf("checklistRef(%s) = %s, not under ChecklistURL", ck.id, ref)
		}
		if !anchors[anchor] {
			t.Errorf("%s (%q) has no row in %s: add ### <a id=%q></a>%s — …", ck.id, ck.title, checklistPath, anchor, ck.id)
		}
	}
}

// TestChecklistIndex: the table at the top of docs/checklist.md lists
// every row once, and links only to rows that exist.
func TestChecklistIndex(t *testing.T) {
	anchors := checklistAnchors(t)
	b, err := os.ReadFile(checklistPath)
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]int{}
	for _, m := range regexp.MustCompile(`(?m)^\| \[(R[0-9]+[a-z]?)\]\(#([^)]+)\) \|`).FindAllStringSubmatch(string(b), -1) {
		if m[2] != strings.ToLower(m[1]) {
			t.Errorf("the index links %s to #%s", m[1], m[2])
		}
		if !anchors[m[2]] {
			t.Errorf("the index lists %s, which has no row", m[1])
		}
		listed[m[2]]++
	}
	for a := range anchors {
		if listed[a] != 1 {
			t.Errorf("the index lists #%s %d times, want once", a, listed[a])
		}
	}
}

// TestResultsLinkToTheirRow: every result of a run, SKIP included, links
// to its own row of the checklist.
func TestResultsLinkToTheirRow(t *testing.T) {
	app := fixture.New(fixture.Options{Mode: fixture.JWT, Email: testUser, Password: testPassword})
	srv := httptest.NewServer(app.Handler())
	defer srv.Close()
	rep, err := Run(context.Background(), testConfig(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	anchors := checklistAnchors(t)
	for _, res := range rep.Results {
		want := ChecklistURL + "#" + strings.ToLower(res.ID)
		if res.Ref != want {
			t.Errorf("%s %s: ref %q, want %q", res.Verdict, res.ID, res.Ref, want)
		}
		if !anchors[strings.ToLower(res.ID)] {
			t.Errorf("%s links to a row that does not exist", res.ID)
		}
	}
}
