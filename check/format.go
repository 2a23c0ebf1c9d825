package check

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Write writes the report in the named format: "text" (see WriteText),
// "json" (WriteJSON), "junit" (WriteJUnit) or "html" (WriteHTML). color
// only affects "text".
func Write(w io.Writer, r *Report, format string, color bool) error {
	switch format {
	case "text":
		return WriteText(w, r, color)
	case "json":
		return WriteJSON(w, r)
	case "junit":
		return WriteJUnit(w, r)
	case "html":
		return WriteHTML(w, r)
	}
	return fmt.Errorf("check: unknown format %q (want text, json, junit or html)", format)
}

var errNoReport = errors.New("check: no report to write")

// ANSI colours for the text report.
const (
	ansiReset = "\x1b[0m"
	ansiRed   = "\x1b[1;31m" // bold red
	ansiYel   = "\x1b[33m"
	ansiGreen = "\x1b[32m"
	ansiGrey  = "\x1b[90m"
)

// idWidth is the width of the text report's ID column.
const idWidth = 6

// WriteText writes the report for people: a header line, the results grouped
// (Report.Grouped order) with one line per result, evidence on the next line
// indented, the link to the checklist once (when the results carry Ref), and
// a summary line last. color adds ANSI colours (FAIL red bold,
// WARN yellow, PASS green, SKIP dim/grey) to the verdicts and the summary.
// Every text that comes from the report is printed with control characters
// escaped, so a hostile server cannot drive the terminal.
func WriteText(w io.Writer, r *Report, color bool) error {
	if r == nil {
		return errNoReport
	}
	paint := func(code, s string) string {
		if !color {
			return s
		}
		return code + s + ansiReset
	}

	var b bytes.Buffer
	b.WriteString("signoff check " + clean(r.Target))
	if r.Credentials != "" {
		b.WriteString(" (" + clean(r.Credentials) + ")")
	}
	b.WriteByte('\n')
	if r.Second != "" {
		b.WriteString("second instance " + clean(r.Second) + "\n")
	}

	indent := strings.Repeat(" ", 2+4+2+idWidth)
	for _, rs := range resultGroups(r) {
		b.WriteString("\n" + clean(groupName(rs[0].Group)) + "\n")
		for _, res := range rs {
			id := clean(res.ID)
			pad := max(1, idWidth-utf8.RuneCountInString(id))
			fmt.Fprintf(&b, "  %s  %s%s%s\n", paint(verdictColor(res.Verdict), verdictLabel(res.Verdict)),
				id, strings.Repeat(" ", pad), strings.TrimSpace(clean(res.Title)))
			if ev := strings.TrimSpace(clean(res.Evidence)); ev != "" {
				b.WriteString(indent + ev + "\n")
			}
		}
	}

	counts := fmt.Sprintf("%d pass, %d warn, %d skip · %s",
		r.Count(Pass), r.Count(Warn), r.Count(Skip), plural(len(r.Exchanges), "request"))
	b.WriteByte('\n')
	if link := checklistLink(r); link != "" {
		b.WriteString("Each ID is explained at " + clean(link) + "\n")
	}
	if r.Incomplete() {
		fmt.Fprintf(&b, "%s  stopped early: %s; the checks not reached are SKIP\n", paint(ansiYel, "INCOMPLETE"), clean(r.Stopped))
	}
	if n := r.Count(Fail); n > 0 {
		fmt.Fprintf(&b, "%s  %d of %s failed · %s\n", paint(ansiRed, "FAIL"), n, plural(len(r.Results), "check"), counts)
	} else {
		fmt.Fprintf(&b, "%s  no check failed · %s\n", paint(ansiGreen, "OK"), counts)
	}
	_, err := w.Write(b.Bytes())
	return err
}

// checklistLink is the checklist the results link to, without a row's
// anchor: the first Ref up to its '#'. "" when no result carries a Ref.
func checklistLink(r *Report) string {
	for _, res := range r.Results {
		if res.Ref != "" {
			link, _, _ := strings.Cut(res.Ref, "#")
			return link
		}
	}
	return ""
}

func verdictColor(v Verdict) string {
	switch v {
	case Fail:
		return ansiRed
	case Warn:
		return ansiYel
	case Pass:
		return ansiGreen
	}
	return ansiGrey
}

// verdictLabel is v cut or padded to the verdict column's four characters.
func verdictLabel(v Verdict) string {
	s := []rune(clean(string(v)))
	if len(s) > 4 {
		s = s[:4]
	}
	return string(s) + strings.Repeat(" ", 4-len(s))
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func groupName(g string) string {
	if g == "" {
		return "Other"
	}
	return g
}

// resultGroups is r.Grouped followed by the results whose group is not one of
// Groups (grouped in order of first appearance), so no result is ever
// dropped from a report.
func resultGroups(r *Report) [][]Result {
	out := r.Grouped()
	known := map[string]bool{}
	for _, g := range Groups {
		known[g] = true
	}
	idx := map[string]int{}
	for _, res := range r.Results {
		if known[res.Group] {
			continue
		}
		i, ok := idx[res.Group]
		if !ok {
			i = len(out)
			idx[res.Group] = i
			out = append(out, nil)
		}
		out[i] = append(out[i], res)
	}
	return out
}

// clean makes s safe to print on one line of a terminal or a file: newlines
// and tabs become spaces; other control characters, Unicode bidirectional
// controls and invalid UTF-8 are written as \xNN or \uNNNN escapes.
func clean(s string) string {
	ok := true
	for _, c := range s {
		if c < 0x20 || c == 0x7f || c == utf8.RuneError || c >= 0x80 && (unicode.IsControl(c) || unicode.Is(unicode.Bidi_Control, c)) {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		c, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case c == '\n' || c == '\r' || c == '\t':
			b.WriteByte(' ')
		case c == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case c < 0x20 || c == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, c)
		case unicode.IsControl(c) || unicode.Is(unicode.Bidi_Control, c):
			fmt.Fprintf(&b, `\u%04x`, c)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// jsonReport is the shape WriteJSON writes.
type jsonReport struct {
	Target      string      `json:"target"`
	Second      string      `json:"second,omitempty"`
	Credentials string      `json:"credentials"`
	Summary     jsonSummary `json:"summary"`
	Stopped     string      `json:"stopped,omitempty"`
	Results     []Result    `json:"results"`
	Exchanges   []Exchange  `json:"exchanges"`
}

type jsonSummary struct {
	Checks   int `json:"checks"`
	Pass     int `json:"pass"`
	Fail     int `json:"fail"`
	Warn     int `json:"warn"`
	Skip     int `json:"skip"`
	Requests int `json:"requests"`
}

// WriteJSON writes the report as indented JSON: {"target", "second"
// (omitempty), "credentials", "summary": {"checks", "pass", "fail", "warn",
// "skip", "requests"}, "stopped" (omitempty: why the run stopped early),
// "results": [...], "exchanges": [...]}, where requests
// is len(Exchanges). Empty lists are written as [], never null.
func WriteJSON(w io.Writer, r *Report) error {
	if r == nil {
		return errNoReport
	}
	out := jsonReport{
		Target:      r.Target,
		Second:      r.Second,
		Credentials: r.Credentials,
		Summary: jsonSummary{
			Checks:   len(r.Results),
			Pass:     r.Count(Pass),
			Fail:     r.Count(Fail),
			Warn:     r.Count(Warn),
			Skip:     r.Count(Skip),
			Requests: len(r.Exchanges),
		},
		Stopped:   r.Stopped,
		Results:   r.Results,
		Exchanges: r.Exchanges,
	}
	if out.Results == nil {
		out.Results = []Result{}
	}
	if out.Exchanges == nil {
		out.Exchanges = []Exchange{}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err := w.Write(b.Bytes())
	return err
}

// junitName is the name of the JUnit test suites and the prefix of every
// test case's class name.
const junitName = "signoff check"

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Classname  string           `xml:"classname,attr"`
	Name       string           `xml:"name,attr"`
	Properties *junitProperties `xml:"properties,omitempty"`
	Failure    *junitFailure    `xml:"failure,omitempty"`
	Skipped    *junitSkipped    `xml:"skipped,omitempty"`
	SystemOut  string           `xml:"system-out,omitempty"`
}

type junitProperties struct {
	Property []junitProperty `xml:"property"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

type junitSkipped struct {
	Message string `xml:"message,attr"`
}

// WriteJUnit writes JUnit XML for CI systems: one <testsuites> with one
// <testsuite> per group and one <testcase> per result. A FAIL carries a
// <failure> with the evidence, a SKIP a <skipped>, and a WARN or PASS its
// evidence as <system-out> (prefixed "WARN: " for a WARN). A result's Ref
// is the test case's property "ref", and the last line of a failure's text
// ("see <ref>"), where CI shows it next to the evidence.
func WriteJUnit(w io.Writer, r *Report) error {
	if r == nil {
		return errNoReport
	}
	all := junitSuites{Name: junitName}
	for _, rs := range resultGroups(r) {
		g := clean(groupName(rs[0].Group))
		s := junitSuite{Name: g}
		for _, res := range rs {
			ev := clean(res.Evidence)
			c := junitCase{
				Classname: junitName + "." + g,
				Name:      strings.TrimSpace(clean(res.ID) + " " + clean(res.Title)),
			}
			ref := clean(res.Ref)
			if ref != "" {
				c.Properties = &junitProperties{[]junitProperty{{Name: "ref", Value: ref}}}
			}
			switch res.Verdict {
			case Fail:
				text := ev
				if ref != "" {
					text += "\nsee " + ref
				}
				c.Failure = &junitFailure{Message: ev, Type: string(Fail), Text: text}
				s.Failures++
			case Skip:
				c.Skipped = &junitSkipped{Message: ev}
				s.Skipped++
			case Warn:
				c.SystemOut = "WARN: " + ev
			case Pass:
				c.SystemOut = ev
			default:
				c.SystemOut = clean(string(res.Verdict)) + ": " + ev
			}
			s.Tests++
			s.Cases = append(s.Cases, c)
		}
		all.Tests += s.Tests
		all.Failures += s.Failures
		all.Skipped += s.Skipped
		all.Suites = append(all.Suites, s)
	}
	var b bytes.Buffer
	b.WriteString(xml.Header)
	enc := xml.NewEncoder(&b)
	enc.Indent("", "  ")
	if err := enc.Encode(all); err != nil {
		return err
	}
	b.WriteByte('\n')
	_, err := w.Write(b.Bytes())
	return err
}

// mmdMaxLine bounds the length, in characters, of a diagram line.
const mmdMaxLine = 200

// mmdEscape replaces what Mermaid would read as syntax: ';' ends a statement
// and '#' starts an entity code; '<' and '>' would be HTML.
var mmdEscape = strings.NewReplacer(";", ",", "#", "#35;", "<", "#lt;", ">", "#gt;")

// mmdLine is prefix followed by text made safe for Mermaid (one line, no
// statement separators, no HTML), cut with "…" so the line stays within
// mmdMaxLine characters. An entity code is never cut in half.
func mmdLine(prefix, text string) string {
	budget := max(mmdMaxLine-utf8.RuneCountInString(prefix), 20)
	var b strings.Builder
	b.WriteString(prefix)
	n := 0
	runes := []rune(clean(text))
	for i, c := range runes {
		piece := mmdEscape.Replace(string(c))
		k := utf8.RuneCountInString(piece)
		// Keep room for the ellipsis unless this is the last piece.
		room := budget - n
		if i < len(runes)-1 {
			room--
		}
		if k > room {
			b.WriteString("…")
			break
		}
		b.WriteString(piece)
		n += k
	}
	b.WriteByte('\n')
	return b.String()
}

// WriteDiagram writes a Mermaid sequence diagram of the exchanges that have
// Story set, in Seq order: the checker (C), the target (A), the second
// instance (B) if a drawn exchange went to it, and the server's store (S) as
// the checker infers it. A note marks each change of Step; each failed
// result is noted at the end. All text is sanitised for Mermaid.
func WriteDiagram(w io.Writer, r *Report) error {
	if r == nil {
		return errNoReport
	}
	story, useB := storyOf(r)

	var b strings.Builder
	b.WriteString("sequenceDiagram\n")
	b.WriteString("    participant C as signoff check\n")
	b.WriteString(mmdLine("    participant A as ", "app ("+r.Target+")"))
	if useB {
		label := "second instance"
		if r.Second != "" {
			label += " (" + r.Second + ")"
		}
		b.WriteString(mmdLine("    participant B as ", label))
	}
	b.WriteString("    participant S as store (inferred)\n")

	step := ""
	for i, ex := range story {
		if ex.Step != "" && (i == 0 || ex.Step != step) {
			b.WriteString(mmdLine("    Note right of C: ", ex.Step))
		}
		step = ex.Step
		p := instanceOf(ex)
		req := strings.Join(append([]string{ex.Method + " " + ex.Path}, ex.Sent...), ", ")
		b.WriteString(mmdLine("    C->>"+p+": ", req))
		if ex.Err != "" {
			b.WriteString(mmdLine("    "+p+"--xC: ", "error: "+ex.Err))
		} else {
			resp := strings.Join(append([]string{fmt.Sprint(ex.Status)}, ex.Got...), ", ")
			b.WriteString(mmdLine("    "+p+"-->>C: ", resp))
		}
		if ex.Note != "" {
			b.WriteString(mmdLine("    Note over "+p+",S: ", ex.Note))
		}
	}
	for _, res := range r.Results {
		if res.Verdict == Fail {
			b.WriteString(mmdLine("    Note over C,A: ", "FAIL "+res.ID+": "+res.Evidence))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func roundDur(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%d days", int((d+12*time.Hour)/(24*time.Hour)))
	case d >= 2*time.Hour:
		return fmt.Sprintf("%d h", int((d+30*time.Minute)/time.Hour))
	}
	if d >= time.Minute {
		return fmt.Sprintf("%d min", int((d+30*time.Second)/time.Minute))
	}
	return fmt.Sprintf("%d s", int((d+time.Second/2)/time.Second))
}
