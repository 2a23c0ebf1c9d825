package signoff

// White-box tests of Secret and Hash (invariant I9, R50): a Secret prints
// only its fingerprint however it is printed, stores keep only hashes, and
// garbage is refused by shape before it is hashed.

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"log"
	"log/slog"
	"regexp"
	"strings"
	"testing"
)

// rawCanary has the shape of a token signoff mints (43 base64url characters)
// and no run of 8 characters that could occur in a fingerprint or in the
// text around one.
const rawCanary = "RAW_canary_Zq9-XwYv_Lk2Pj8Ns_Tt4Uu6Gg1Hh3Jj"

// leak reports whether out holds raw or any 8-byte run of it.
func leak(out, raw string) bool {
	for i := 0; i+8 <= len(raw); i++ {
		if strings.Contains(out, raw[i:i+8]) {
			return true
		}
	}
	return false
}

// TestSecretPrintsOnlyFingerprint_I9: every way Go prints a value — the
// Stringers, each fmt verb, inside slices, maps and structs, JSON, text, XML,
// slog's handlers, the log package, errors — shows the fingerprint and
// never the raw value or any piece of it.
func TestSecretPrintsOnlyFingerprint_I9(t *testing.T) {
	s := NewSecret(rawCanary)
	fpr := s.Fingerprint()
	type exported struct{ Token Secret }
	type tagged struct {
		Token Secret `json:"token" xml:"token"`
	}

	outs := map[string]string{
		"String":   s.String(),
		"GoString": s.GoString(),
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10.4s", "%-50v", "%U"} {
		outs["Sprintf "+verb] = fmt.Sprintf(verb, s)
		outs["Sprintf "+verb+" pointer"] = fmt.Sprintf(verb, &s)
		outs["Sprintf "+verb+" slice"] = fmt.Sprintf(verb, []Secret{s})
		outs["Sprintf "+verb+" map"] = fmt.Sprintf(verb, map[string]Secret{"k": s})
		outs["Sprintf "+verb+" struct"] = fmt.Sprintf(verb, exported{s})
		outs["Sprintf "+verb+" struct pointer"] = fmt.Sprintf(verb, &exported{s})
		outs["Sprintf "+verb+" any"] = fmt.Sprintf(verb, []any{s, &s})
	}
	outs["Sprint"] = fmt.Sprint(s)
	outs["Sprintln"] = fmt.Sprintln("token", s)
	outs["Errorf"] = fmt.Errorf("login failed for %v: %w", s, ErrInvalidCredential).Error()

	for name, v := range map[string]any{"value": s, "pointer": &s, "struct": tagged{s}, "slice": []Secret{s}, "map key": map[Secret]int{s: 1}} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("json.Marshal(%s): %v", name, err)
		}
		outs["JSON "+name] = string(b)
	}
	if b, err := s.MarshalText(); err != nil {
		t.Fatal(err)
	} else {
		outs["MarshalText"] = string(b)
	}
	if b, err := xml.Marshal(tagged{s}); err != nil {
		t.Fatal(err)
	} else {
		outs["XML"] = string(b)
	}

	var jsonLog, textLog, stdLog bytes.Buffer
	for _, l := range []*slog.Logger{slog.New(slog.NewJSONHandler(&jsonLog, nil)), slog.New(slog.NewTextHandler(&textLog, nil))} {
		l.Info("login", "token", s, "pointer", &s)
		l.Info("login", slog.Any("token", s), slog.Group("g", "token", s))
		l.Info("login", "struct", exported{s}, "list", []Secret{s})
		l.With("token", s).Info("with")
	}
	outs["slog JSON"] = jsonLog.String()
	outs["slog text"] = textLog.String()
	log.New(&stdLog, "", 0).Printf("token %v %s", s, s)
	outs["log"] = stdLog.String()

	for name, out := range outs {
		if leak(out, rawCanary) {
			t.Errorf("I9: %s reveals the raw value (or a piece of it): %s", name, strings.ReplaceAll(out, rawCanary, "<RAW>"))
		}
		if !strings.Contains(out, fpr) {
			t.Errorf("I9: %s = %q; want it to show the fingerprint %s", name, out, fpr)
		}
	}
	if got := s.Reveal(); got != rawCanary {
		t.Errorf("Reveal returned another value (%s); want the raw one", NewSecret(got).Fingerprint())
	}
}

// TestSecretInUnexportedField_I9: fmt cannot call the methods of a value in
// an unexported struct field, so it prints the Secret's own fields: the raw
// value, as it stands. Reported: holding the raw value behind a pointer
// would make fmt print an address there instead.
func TestSecretInUnexportedField_I9(t *testing.T) {
	type holder struct{ token Secret }
	s := NewSecret(rawCanary)
	var textLog bytes.Buffer
	slog.New(slog.NewTextHandler(&textLog, nil)).Info("login", "holder", holder{s})
	outs := map[string]string{
		"%v":         fmt.Sprintf("%v", holder{s}),
		"%+v":        fmt.Sprintf("%+v", &holder{s}),
		"slog text":  textLog.String(),
		"%v in list": fmt.Sprintf("%v", []holder{{s}}),
	}
	for name, out := range outs {
		if leak(out, rawCanary) {
			t.Errorf("I9: a Secret in an unexported field, printed with %s, reveals the raw value: %s", name, strings.ReplaceAll(out, rawCanary, "<RAW>"))
		}
	}
}

var fingerprintShape = regexp.MustCompile(`^fp:[0-9a-f]{12}$`)

// TestFingerprint: "fp:" and the first 12 hex digits of the SHA-256, the
// same every time, different for different values, "fp:none" for nothing.
func TestFingerprint(t *testing.T) {
	s := NewSecret(rawCanary)
	sum := sha256.Sum256([]byte(rawCanary))
	want := "fp:" + hex.EncodeToString(sum[:])[:12]
	for i, got := range []string{s.Fingerprint(), s.Fingerprint(), NewSecret(rawCanary).Fingerprint(), s.Hash().String(), HashString(rawCanary).String()} {
		if got != want {
			t.Errorf("fingerprint %d = %q; want %q", i, got, want)
		}
	}
	if !fingerprintShape.MatchString(want) {
		t.Errorf("fingerprint %q is not fp: and 12 lowercase hex digits", want)
	}
	if other := NewSecret(rawCanary[:42] + "k").Fingerprint(); other == want || !fingerprintShape.MatchString(other) {
		t.Errorf("a value one character apart has fingerprint %q (the canary's is %q)", other, want)
	}
	if got := (Secret{}).Fingerprint(); got != "fp:none" {
		t.Errorf("the zero Secret's fingerprint is %q; want fp:none", got)
	}
	if !(Secret{}).IsZero() || s.IsZero() || !NewSecret("").IsZero() {
		t.Error("IsZero is wrong")
	}
}

var hashSink Hash

// TestHashString: HashString is SHA-256 of the bytes at every length, on
// both sides of its stack buffer, and what Secret.Hash and Hex/HashFromHex
// agree on; up to 512 bytes (any session token or access token signoff
// mints) it does not allocate.
func TestHashString(t *testing.T) {
	for _, n := range []int{0, 1, 43, 511, 512, 513, 4096} {
		raw := strings.Repeat("x", n)
		want := Hash(sha256.Sum256([]byte(raw)))
		if got := HashString(raw); got != want {
			t.Errorf("HashString of %d bytes = %s; want %s", n, got.Hex(), want.Hex())
		}
		if got := NewSecret(raw).Hash(); got != want {
			t.Errorf("Secret.Hash of %d bytes differs from SHA-256", n)
		}
		back, err := HashFromHex(want.Hex())
		if err != nil || back != want {
			t.Errorf("HashFromHex(Hex()) = %s, %v; want the same hash", back.Hex(), err)
		}
	}
	for _, n := range []int{43, 400, 512} {
		raw := strings.Repeat("x", n)
		if a := testing.AllocsPerRun(100, func() { hashSink = HashString(raw) }); a != 0 {
			t.Errorf("HashString of %d bytes allocates %v times; want 0 (it is on every request)", n, a)
		}
	}
	for _, bad := range []string{"", "00", strings.Repeat("g", 64), strings.Repeat("0", 63), strings.Repeat("0", 65)} {
		if _, err := HashFromHex(bad); err == nil {
			t.Errorf("HashFromHex accepted %d characters of non-hash", len(bad))
		}
	}
	if (Hash{}).IsZero() != true || HashString("").IsZero() {
		t.Error("Hash.IsZero is wrong")
	}
}

// TestSecretEqual: equal values compare equal, others do not.
func TestSecretEqual(t *testing.T) {
	s := NewSecret(rawCanary)
	if !s.Equal(NewSecret(strings.Clone(rawCanary))) {
		t.Error("a Secret is not Equal to a copy of itself")
	}
	for _, o := range []string{"", rawCanary[:42], rawCanary + "A", rawCanary[:42] + "k", strings.ToLower(rawCanary)} {
		if s.Equal(NewSecret(o)) {
			t.Errorf("Equal reports the canary equal to a different value (%s)", NewSecret(o).Fingerprint())
		}
	}
}

// TestValidToken_R2_R3: only 43 characters of unpadded base64url pass;
// everything a minted token cannot be fails before hashing. Minted secrets
// always pass, decode to 32 bytes and do not repeat.
func TestValidToken_R2_R3(t *testing.T) {
	if !validToken(rawCanary) {
		t.Fatal("control: the canary (43 base64url characters) is not a valid token")
	}
	bad := map[string]string{
		"empty":       "",
		"42":          rawCanary[:42],
		"44":          rawCanary + "A",
		"86":          rawCanary + rawCanary,
		"padded":      rawCanary[:42] + "=",
		"with '+'":    "+" + rawCanary[1:],
		"with '/'":    rawCanary[:20] + "/" + rawCanary[21:],
		"with '.'":    rawCanary[:42] + ".",
		"with space":  rawCanary[:10] + " " + rawCanary[11:],
		"with NUL":    rawCanary[:42] + "\x00",
		"with quote":  `"` + rawCanary[1:],
		"with ';'":    rawCanary[:42] + ";",
		"non-ASCII":   rawCanary[:41] + "é",
		"high byte":   rawCanary[:42] + "\xff",
		"with tab":    "\t" + rawCanary[1:],
		"with '%'":    rawCanary[:40] + "%41",
		"with '~'":    rawCanary[:42] + "~",
		"with ','":    "," + rawCanary[1:],
		"with U+2000": "\u2000" + rawCanary[3:],
	}
	for name, v := range bad {
		if validToken(v) {
			t.Errorf("validToken accepted a value %s", name)
		}
	}
	seen := map[string]bool{}
	for range 1000 {
		s := newRandomSecret()
		v := s.Reveal()
		b, err := base64.RawURLEncoding.Strict().DecodeString(v)
		if !validToken(v) || err != nil || len(b) != 32 {
			t.Fatalf("R3: minted secret %s: valid %v, %d bytes (%v); want a valid token of 32 bytes", s, validToken(v), len(b), err)
		}
		if seen[v] {
			t.Fatalf("R3: minted secret %s repeated", s)
		}
		seen[v] = true
	}
}
