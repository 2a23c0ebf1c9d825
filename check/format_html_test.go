package check

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signoff/signoff/check/fixture"
)

func TestHTMLGolden(t *testing.T) {
	for name, r := range map[string]*Report{"report.html": sampleReport(), "ok.html": okReport()} {
		t.Run(name, func(t *testing.T) {
			golden(t, filepath.Join("format", name), render(t, func(b *bytes.Buffer) error { return WriteHTML(b, r) }))
		})
	}
}

// htmlNode is an element of the HTML page read as XML: its name, its
// attributes, and the text directly inside it.
type htmlNode struct {
	name  string
	attrs []xml.Attr
	text  string
}

// parseHTMLPage reads the whole page as XML, which WriteHTML keeps it:
// every element closed, every attribute quoted, every entity XML's.
func parseHTMLPage(t *testing.T, page []byte) []htmlNode {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(page))
	d.Strict = true
	var nodes []htmlNode
	var open []int
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("the page is not well-formed: %v", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			open = append(open, len(nodes))
			nodes = append(nodes, htmlNode{name: strings.ToLower(tok.Name.Local), attrs: tok.Attr})
		case xml.EndElement:
			open = open[:len(open)-1]
		case xml.CharData:
			if len(open) > 0 {
				nodes[open[len(open)-1]].text += string(tok)
			}
		}
	}
	if len(open) != 0 {
		t.Fatalf("%d elements left open", len(open))
	}
	return nodes
}

// loadsNothing fails unless the page is self-contained: no element that
// loads or runs anything, no attribute that names a resource or a
// handler, no url() or @import in CSS, and no address anywhere but the
// checklist links (<a href>) and text.
func loadsNothing(t *testing.T, page []byte) {
	t.Helper()
	banned := map[string]bool{"script": true, "link": true, "img": true, "image": true, "iframe": true, "frame": true,
		"object": true, "embed": true, "audio": true, "video": true, "source": true, "track": true, "base": true,
		"form": true, "use": true, "foreignobject": true, "picture": true, "portal": true, "applet": true}
	styles := 0
	for _, n := range parseHTMLPage(t, page) {
		if banned[n.name] {
			t.Errorf("the page has a <%s> element", n.name)
		}
		if n.name == "style" {
			styles++
			if css := strings.ToLower(n.text); strings.Contains(css, "url(") || strings.Contains(css, "@import") {
				t.Error("the style sheet loads something (url() or @import)")
			}
		}
		for _, a := range n.attrs {
			name, val := strings.ToLower(a.Name.Local), strings.ToLower(a.Value)
			switch {
			case name == "href":
				if n.name != "a" || !strings.HasPrefix(a.Value, ChecklistURL) {
					t.Errorf("<%s href=%q>: the only links are <a> to the checklist", n.name, a.Value)
				}
			case name == "src" || name == "srcset" || name == "action" || name == "formaction" || name == "poster" ||
				name == "data" || name == "background" || name == "ping" || strings.HasPrefix(name, "on"):
				t.Errorf("<%s %s=%q>", n.name, a.Name.Local, a.Value)
			case name == "style" && strings.Contains(val, "url("):
				t.Errorf("<%s style=%q> loads something", n.name, a.Value)
			case name != "content" && strings.Contains(val, "://"):
				t.Errorf("<%s %s=%q> names an address", n.name, a.Name.Local, a.Value)
			case n.name == "meta" && strings.Contains(val, "url="):
				t.Errorf("<meta %s=%q> redirects", a.Name.Local, a.Value)
			}
		}
	}
	if styles != 1 {
		t.Errorf("%d <style> elements, want the one inline sheet", styles)
	}
	if !bytes.Contains(page, []byte(`<meta http-equiv="Content-Security-Policy" content="default-src 'none';`)) {
		t.Error("no Content-Security-Policy forbidding every load")
	}
}

func TestHTMLLoadsNothing(t *testing.T) {
	for name, r := range map[string]*Report{"sample": sampleReport(), "ok": okReport(), "hostile": hostileReport()} {
		t.Run(name, func(t *testing.T) {
			loadsNothing(t, render(t, func(b *bytes.Buffer) error { return WriteHTML(b, r) }))
		})
	}
}

// hostileReport is what a hostile site could put in a report: markup,
// script, entity and attribute breakers, control characters and a
// javascript: link in every string the page shows.
func hostileReport() *Report {
	const x = `<script>alert(1)</script>"><img src=x onerror=alert(2)>'</svg></text>&amp;]]>` + "\x1b[2J\x00\u202e"
	return &Report{
		Target: "http://evil.test/" + x, Second: "http://b.evil.test/" + x, Credentials: "cookie " + x,
		Stopped: "budget " + x,
		Results: []Result{
			{ID: "R4" + x, Title: "title " + x, Group: GroupLifecycle, Verdict: Fail, Evidence: "evidence " + x,
				Ref: "javascript:alert(3)//" + x},
			{ID: "R99", Title: x, Group: "group " + x, Verdict: Verdict("BAD" + x), Evidence: x, Ref: checklistRef("R99")},
		},
		Exchanges: []Exchange{
			{Seq: 1, Step: "step " + x, Method: "POST" + x, Path: "/login?" + x, Sent: []string{"cookie " + x},
				Status: 200, Got: []string{"Set-Cookie " + x}, Story: true, Note: "note " + x},
			{Seq: 2, Step: "step " + x, Instance: "B", Method: "GET", Path: "/" + x, Story: true, Err: "error " + x},
		},
	}
}

func TestHTMLEscapesHostileText(t *testing.T) {
	page := render(t, func(b *bytes.Buffer) error { return WriteHTML(b, hostileReport()) })
	low := bytes.ToLower(page)
	for _, bad := range []string{"<script", "<img", "javascript:", "\x1b", "\x00", "\u202e"} {
		if bytes.Contains(low, []byte(bad)) {
			t.Errorf("the page contains %q", bad)
		}
	}
	if n := bytes.Count(page, []byte("&lt;script&gt;alert(1)&lt;/script&gt;")); n < 10 {
		t.Errorf("the hostile text is shown escaped %d times, want it in every place it was put", n)
	}
	if !bytes.Contains(page, []byte(`\x1b[2J\x00\u202e`)) {
		t.Error("control characters are not written as escapes, as the text report writes them")
	}
	nodes := parseHTMLPage(t, page)
	svgs := 0
	for _, n := range nodes {
		if n.name == "svg" {
			svgs++
		}
	}
	if svgs != 1 {
		t.Errorf("%d <svg> elements: the hostile text broke out of the diagram", svgs)
	}
}

// svgOf is the page's one <svg> element, parsed on its own as XML.
func svgOf(t *testing.T, page []byte) (raw []byte, svg struct {
	Lines []struct {
		Class string `xml:"class,attr"`
	} `xml:"line"`
	Rects []struct {
		Class string `xml:"class,attr"`
	} `xml:"rect"`
	Polygons []struct {
		Class string `xml:"class,attr"`
	} `xml:"polygon"`
	Texts []struct {
		Class string `xml:"class,attr"`
		Text  string `xml:",chardata"`
	} `xml:"text"`
}) {
	t.Helper()
	start, end := bytes.Index(page, []byte("<svg")), bytes.LastIndex(page, []byte("</svg>"))
	if start < 0 || end < start {
		t.Fatal("no <svg> in the page")
	}
	raw = page[start : end+len("</svg>")]
	d := xml.NewDecoder(bytes.NewReader(raw))
	d.Strict = true
	if err := d.Decode(&svg); err != nil {
		t.Fatalf("the SVG is not well-formed XML: %v", err)
	}
	return raw, svg
}

func TestHTMLDiagram(t *testing.T) {
	r := sampleReport()
	page := render(t, func(b *bytes.Buffer) error { return WriteHTML(b, r) })
	_, svg := svgOf(t, page)
	count := func(class string, n int, what string) {
		t.Helper()
		got := 0
		for _, p := range svg.Polygons {
			if p.Class == class {
				got++
			}
		}
		for _, l := range svg.Lines {
			if class == "x" && strings.HasSuffix(l.Class, " x") {
				got++
			}
		}
		if got != n {
			t.Errorf("%d %s, want %d", got, what, n)
		}
	}
	story := 0
	for _, ex := range r.Exchanges {
		if ex.Story {
			story++
		}
	}
	count("req", story, "request arrows")
	count("ans", story-1, "answer arrows")
	count("x", 2, "strokes of the transport error's cross")
	var names, notes []string
	for _, tx := range svg.Texts {
		switch tx.Class {
		case "box-name":
			names = append(names, tx.Text)
		case "store", "failed", "step":
			notes = append(notes, tx.Class+": "+tx.Text)
		}
	}
	if strings.Join(names, ", ") != "signoff check, site A, site B, store" {
		t.Errorf("participants %q", names)
	}
	all := strings.Join(notes, "\n")
	for _, want := range []string{"step: sign in", "step: replay on the second instance", "store: B's store has no session fp:cccccccccccc", "failed: FAIL R4:", "failed: FAIL R51:"} {
		if !strings.Contains(all, want) {
			t.Errorf("the diagram lacks the note %q in\n%s", want, all)
		}
	}
	if strings.Contains(string(page), "check cache headers") && strings.Count(string(page), "check cache headers") != 1 {
		t.Error("an exchange without Story is drawn")
	}

	// A single-instance run has no site B; a run without a story no diagram.
	ok := render(t, func(b *bytes.Buffer) error { return WriteHTML(b, okReport()) })
	if _, svg := svgOf(t, ok); len(svg.Rects) != 3+1 {
		t.Errorf("single-instance diagram: %d boxes, want 3 participants and the step note", len(svg.Rects))
	}
	none := render(t, func(b *bytes.Buffer) error { return WriteHTML(b, &Report{Target: "http://x"}) })
	if bytes.Contains(none, []byte("<svg")) {
		t.Error("a diagram without exchanges")
	}
}

func TestHTMLLabelsWrap(t *testing.T) {
	for _, tc := range []struct {
		in    string
		width int
		want  []string
	}{
		{"POST /login, cookie __Host-session=fp:aaaaaaaaaaaa", 24, []string{"POST /login, cookie", "__Host-session=fp:aaaaaa", "aaaaaa"}},
		{"short", 40, []string{"short"}},
		{"", 40, []string{""}},
		{strings.Repeat("é", 30), 12, []string{strings.Repeat("é", 12), strings.Repeat("é", 12), strings.Repeat("é", 6)}},
	} {
		got := wrapLabel(tc.in, tc.width)
		if strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("wrapLabel(%q, %d) = %q, want %q", tc.in, tc.width, got, tc.want)
		}
	}
	long := wrapLabel(strings.Repeat("word ", 200), 40)
	if n := len([]rune(strings.Join(long, " "))); n != seqMaxRunes {
		t.Errorf("a long label keeps %d characters, want %d", n, seqMaxRunes)
	}
}

func TestHTMLStopped(t *testing.T) {
	r := okReport()
	r.Stopped = "the request budget (300) was spent"
	page := string(render(t, func(b *bytes.Buffer) error { return WriteHTML(b, r) }))
	if !strings.Contains(page, `<span class="badge warn">INCOMPLETE</span>`) ||
		!strings.Contains(page, "<strong>INCOMPLETE</strong>: the run stopped early (the request budget (300) was spent)") {
		t.Error("a run that stopped early does not say INCOMPLETE")
	}
	if strings.Contains(string(render(t, func(b *bytes.Buffer) error { return WriteHTML(b, okReport()) })), "INCOMPLETE") {
		t.Error("a complete run says INCOMPLETE")
	}
}

// TestHTMLOfARealRun renders a real run against a fixture whose instances
// do not share their store (so R51 fails and site B is drawn): the page
// loads nothing, its SVG parses, and every finding links to its row.
func TestHTMLOfARealRun(t *testing.T) {
	_, cfg := twoInstances(t, fixture.Options{Mode: fixture.Session, Fault: fixture.SplitInstances})
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Failed() {
		t.Fatal("the fixture's fault went unnoticed")
	}
	page := render(t, func(w *bytes.Buffer) error { return WriteHTML(w, rep) })
	loadsNothing(t, page)
	_, svg := svgOf(t, page)
	var names []string
	for _, tx := range svg.Texts {
		if tx.Class == "box-name" {
			names = append(names, tx.Text)
		}
	}
	if strings.Join(names, ", ") != "signoff check, site A, site B, store" {
		t.Errorf("participants %q", names)
	}
	for _, res := range rep.Results {
		if link := `<a href="` + res.Ref + `">` + res.ID + `</a>`; !bytes.Contains(page, []byte(link)) {
			t.Errorf("%s is not linked to its row: no %s", res.ID, link)
		}
	}
}
