package check

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"sort"
	"strings"
	"unicode/utf8"
)

// WriteHTML writes the report as one self-contained HTML page, for people
// who would rather look than read: a header with the target, what sign-in
// returned and the counts; the INCOMPLETE line of a run that stopped early;
// the findings grouped as in the text report, each with a verdict badge
// (colour and word), its ID linked to its checklist row (Result.Ref, when
// it is one) and its evidence; the sequence diagram WriteDiagram draws, as
// inline SVG; and every request in a closed <details>.
//
// The page loads nothing: the style is inline, there is no script, font or
// image, and a Content-Security-Policy says so to the browser. The only
// addresses in it are the checklist links. Every text from the report is
// escaped by html/template, after control characters are written as
// escapes (as in the text report), so a hostile site's evidence stays text
// and the SVG stays well-formed XML.
func WriteHTML(w io.Writer, r *Report) error {
	if r == nil {
		return errNoReport
	}
	var b bytes.Buffer
	if err := htmlPage.Execute(&b, newHTMLView(r)); err != nil {
		return err
	}
	_, err := w.Write(b.Bytes())
	return err
}

//go:embed format_html.tmpl
var htmlSource string

var htmlPage = template.Must(template.New("report").Parse(htmlSource))

// htmlView is what the page template reads: every string already clean.
type htmlView struct {
	Target, Second, Credentials string
	Failed                      bool
	Failures, Checks, Requests  int
	Counts                      []htmlCount
	Stopped                     string
	Checklist                   string
	Groups                      []htmlGroup
	Diagram                     *seqDiagram
	Exchanges                   []htmlExchange
}

type htmlCount struct {
	Label, Class string
	N            int
}

// Zero is a count of none, whose badge is drawn without its colour.
func (c htmlCount) Zero() bool { return c.N == 0 }

type htmlGroup struct {
	Name    string
	Results []htmlResult
}

type htmlResult struct {
	ID, Title, Evidence, Ref string
	Verdict, Class           string
}

type htmlExchange struct {
	Seq                                int
	Step, Instance, Method, Path, Note string
	Status, Err                        string
	Sent, Got                          []string
}

func newHTMLView(r *Report) htmlView {
	v := htmlView{
		Target:      clean(r.Target),
		Second:      clean(r.Second),
		Credentials: clean(r.Credentials),
		Failed:      r.Failed(),
		Failures:    r.Count(Fail),
		Checks:      len(r.Results),
		Requests:    len(r.Exchanges),
		Stopped:     clean(r.Stopped),
		Diagram:     layoutSequence(r),
	}
	for _, vd := range []Verdict{Fail, Warn, Pass, Skip} {
		v.Counts = append(v.Counts, htmlCount{Label: string(vd), Class: verdictClass(vd), N: r.Count(vd)})
	}
	for _, rs := range resultGroups(r) {
		g := htmlGroup{Name: clean(groupName(rs[0].Group))}
		for _, res := range rs {
			if htmlRef(res.Ref) != "" {
				v.Checklist = ChecklistURL
			}
			g.Results = append(g.Results, htmlResult{
				ID:       clean(res.ID),
				Title:    strings.TrimSpace(clean(res.Title)),
				Evidence: strings.TrimSpace(clean(res.Evidence)),
				Ref:      htmlRef(res.Ref),
				Verdict:  clean(string(res.Verdict)),
				Class:    verdictClass(res.Verdict),
			})
		}
		v.Groups = append(v.Groups, g)
	}
	for _, ex := range r.Exchanges {
		he := htmlExchange{
			Seq: ex.Seq, Step: clean(ex.Step), Instance: instanceOf(ex), Method: clean(ex.Method),
			Path: clean(ex.Path), Note: clean(ex.Note), Err: clean(ex.Err),
			Sent: cleanAll(ex.Sent), Got: cleanAll(ex.Got),
		}
		if ex.Err == "" {
			he.Status = fmt.Sprint(ex.Status)
		}
		v.Exchanges = append(v.Exchanges, he)
	}
	return v
}

// htmlRef is ref if it links to a row of the checklist, else "": the page
// links nowhere else, whatever a report read back from JSON says.
func htmlRef(ref string) string {
	if strings.HasPrefix(ref, ChecklistURL+"#") && clean(ref) == ref {
		return ref
	}
	return ""
}

func cleanAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = clean(s)
	}
	return out
}

// verdictClass is the CSS class of a verdict's badge; an unknown verdict
// is drawn as a SKIP, with its own word.
func verdictClass(v Verdict) string {
	switch v {
	case Fail:
		return "fail"
	case Warn:
		return "warn"
	case Pass:
		return "pass"
	}
	return "skip"
}

// The sequence diagram's geometry, in SVG user units (pixels). Labels are
// set in a monospace font of seqFont pixels, whose glyphs are seqCharW
// wide (0.6 em in DejaVu Sans Mono, Menlo and Consolas alike), so a
// label's width is known without measuring it.
const (
	seqWidth    = 1100
	seqFont     = 12
	seqCharW    = 7.3
	seqLineH    = 16
	seqBoxW     = 168
	seqBoxH     = 44
	seqTop      = 8
	seqMaxRunes = 300 // a label longer than this is cut with "…"
)

// seqDiagram is the laid-out diagram the template draws.
type seqDiagram struct {
	Width, Height int
	BoxW, BoxH    int    // the participants' boxes, from y = seqTop
	Label         string // for screen readers
	Lanes         []seqLane
	Shapes        []seqShape
}

// seqLane is one participant: its box at the top and its lifeline.
type seqLane struct {
	X, BoxX, BoxY int
	Top, Bottom   int // the lifeline
	NameY, SubY   int
	Name, Sub     string
}

// seqShape is one thing drawn, in order: Kind "line" (X1,Y1 → X2,Y2),
// "head" (a filled triangle, Points), "rect" (X, Y, W, H) or "text" (one
// line at X, Y; Anchor "start" or "middle"). Class picks the style.
type seqShape struct {
	Kind, Class    string
	X1, Y1, X2, Y2 int
	X, Y, W, H     int
	Points         string
	Anchor, Text   string
}

// storyOf returns the exchanges the sequence diagram draws (Story set) in
// Seq order, and whether one of them went to the second instance.
func storyOf(r *Report) (story []Exchange, useB bool) {
	for _, ex := range r.Exchanges {
		if ex.Story {
			story = append(story, ex)
			useB = useB || instanceOf(ex) == "B"
		}
	}
	sort.SliceStable(story, func(i, j int) bool { return story[i].Seq < story[j].Seq })
	return story, useB
}

// instanceOf is the participant an exchange went to: "B" for the second
// instance, "A" for anything else.
func instanceOf(ex Exchange) string {
	if ex.Instance == "B" {
		return "B"
	}
	return "A"
}

// layoutSequence lays out the diagram of r's story, the exchanges and
// notes WriteDiagram writes as Mermaid: the checker, site A, site B when a
// drawn exchange went there, and the store as the checker infers it; a note
// at each change of step, an arrow for each request and each answer (a
// cross for a transport error), the inferred store note, and a note for
// each failed result at the end. Long labels wrap; nil without a story.
func layoutSequence(r *Report) *seqDiagram {
	story, useB := storyOf(r)
	if len(story) == 0 {
		return nil
	}
	d := &seqDiagram{Width: seqWidth, BoxW: seqBoxW, BoxH: seqBoxH}
	// Most arrows run between the checker and A: give them the room.
	lane := map[string]int{"C": 90, "A": 620, "S": 1010}
	if useB {
		lane["A"], lane["B"] = 590, 800
	}
	box := func(x int, name, sub string) {
		d.Lanes = append(d.Lanes, seqLane{X: x, BoxX: x - seqBoxW/2, BoxY: seqTop, Top: seqTop + seqBoxH,
			NameY: seqTop + 18, SubY: seqTop + 35, Name: name, Sub: cutRunes(sub, 22)})
	}
	box(lane["C"], "signoff check", "checker")
	box(lane["A"], "site A", clean(r.Target))
	if useB {
		sub := "second instance"
		if r.Second != "" {
			sub = clean(r.Second)
		}
		box(lane["B"], "site B", sub)
	}
	box(lane["S"], "store", "(inferred)")

	y := seqTop + seqBoxH + 18
	add := func(s seqShape) { d.Shapes = append(d.Shapes, s) }
	// note draws a box from x1 to at most x2 with text wrapped inside it,
	// only as wide as the text when fit, and moves y down.
	note := func(class string, x1, x2 int, text string, fit bool) {
		lines := wrapLabel(text, int(float64(x2-x1-16)/seqCharW))
		if fit {
			x2 = min(x2, x1+16+int(float64(longest(lines))*seqCharW+0.5))
		}
		h := len(lines)*seqLineH + 10
		add(seqShape{Kind: "rect", Class: class, X: x1, Y: y, W: x2 - x1, H: h})
		for i, l := range lines {
			add(seqShape{Kind: "text", Class: class, X: x1 + 8, Y: y + 5 + seqFont + i*seqLineH, Anchor: "start", Text: l})
		}
		y += h + 10
	}
	// arrow draws the label lines centred above an arrow from x1 to x2
	// (dashed for an answer, a cross at its end for an error).
	arrow := func(class string, x1, x2 int, text string, cross bool) {
		lo, hi := min(x1, x2), max(x1, x2)
		for _, l := range wrapLabel(text, int(float64(hi-lo-24)/seqCharW)) {
			y += seqLineH
			add(seqShape{Kind: "text", Class: class, X: (lo + hi) / 2, Y: y, Anchor: "middle", Text: l})
		}
		y += 8
		dir := 1
		if x2 < x1 {
			dir = -1
		}
		end := x2 - dir*9
		add(seqShape{Kind: "line", Class: class, X1: x1, Y1: y, X2: end, Y2: y})
		if cross {
			add(seqShape{Kind: "line", Class: class + " x", X1: x2 - 5, Y1: y - 5, X2: x2 + 5, Y2: y + 5})
			add(seqShape{Kind: "line", Class: class + " x", X1: x2 - 5, Y1: y + 5, X2: x2 + 5, Y2: y - 5})
		} else {
			add(seqShape{Kind: "head", Class: class, Points: fmt.Sprintf("%d,%d %d,%d %d,%d", x2, y, end-dir, y-5, end-dir, y+5)})
		}
		y += 12
	}

	step := ""
	for i, ex := range story {
		if ex.Step != "" && (i == 0 || ex.Step != step) {
			note("step", lane["C"]+10, lane["A"]-20, ex.Step, true)
		}
		step = ex.Step
		p := lane[instanceOf(ex)]
		arrow("req", lane["C"], p, strings.Join(append([]string{ex.Method + " " + ex.Path}, ex.Sent...), ", "), false)
		if ex.Err != "" {
			arrow("ans err", p, lane["C"], "error: "+ex.Err, true)
		} else {
			arrow("ans", p, lane["C"], strings.Join(append([]string{fmt.Sprint(ex.Status)}, ex.Got...), ", "), false)
		}
		if ex.Note != "" {
			note("store", p-60, min(lane["S"]+80, seqWidth-4), ex.Note, true)
		}
	}
	for _, res := range r.Results {
		if res.Verdict == Fail {
			note("failed", max(lane["C"]-80, 4), lane["A"]+80, "FAIL "+res.ID+": "+res.Evidence, false)
		}
	}
	for i := range d.Lanes {
		d.Lanes[i].Bottom = y
	}
	d.Height = y + 4
	d.Label = fmt.Sprintf("Sequence diagram: %s between signoff check and the site", plural(len(story), "exchange"))
	return d
}

// wrapLabel cleans s, cuts it to seqMaxRunes, and breaks it into lines of
// at most width characters, at spaces where it can.
func wrapLabel(s string, width int) []string {
	width = max(width, 12)
	var lines []string
	line := ""
	for _, word := range strings.Fields(cutRunes(clean(s), seqMaxRunes)) {
		for utf8.RuneCountInString(word) > width {
			if line != "" {
				lines, line = append(lines, line), ""
			}
			rs := []rune(word)
			lines, word = append(lines, string(rs[:width])), string(rs[width:])
		}
		switch {
		case line == "":
			line = word
		case utf8.RuneCountInString(line)+1+utf8.RuneCountInString(word) <= width:
			line += " " + word
		default:
			lines, line = append(lines, line), word
		}
	}
	if line != "" || len(lines) == 0 {
		lines = append(lines, line)
	}
	return lines
}

func longest(lines []string) int {
	n := 0
	for _, l := range lines {
		n = max(n, utf8.RuneCountInString(l))
	}
	return n
}

// cutRunes cuts s to at most n characters, the last of them "…".
func cutRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}
