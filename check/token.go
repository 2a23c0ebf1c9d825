package check

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"
)

// jwtParts decodes a compact JWS's header and claims. ok is false when s is
// not one (an opaque token).
func jwtParts(s string) (header, claims map[string]any, ok bool) {
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return nil, nil, false
	}
	for i, dst := range []*map[string]any{&header, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil || json.Unmarshal(b, dst) != nil {
			return nil, nil, false
		}
	}
	return header, claims, true
}

// jwtExpiry returns the exp claim of a JWT.
func jwtExpiry(s string) (time.Time, bool) {
	_, claims, ok := jwtParts(s)
	if !ok {
		return time.Time{}, false
	}
	exp, ok := claims["exp"].(float64)
	if !ok {
		return time.Time{}, false
	}
	return time.Unix(int64(exp), 0), true
}

// forgeNone returns s with its header's alg set to "none" and no signature:
// the classic forgery a verifier without an algorithm allowlist accepts
// (R41).
func forgeNone(s string) string {
	header, _, ok := jwtParts(s)
	if !ok {
		return ""
	}
	header["alg"] = "none"
	h, _ := json.Marshal(header)
	parts := strings.Split(s, ".")
	return base64.RawURLEncoding.EncodeToString(h) + "." + parts[1] + "."
}

// tamper returns s with one claim changed and the original signature kept:
// a verifier that checks signatures refuses it.
func tamper(s string) string {
	_, claims, ok := jwtParts(s)
	if !ok {
		return ""
	}
	if exp, ok := claims["exp"].(float64); ok {
		claims["exp"] = exp + 3600
	} else {
		claims["signoff_check"] = "tampered"
	}
	c, _ := json.Marshal(claims)
	parts := strings.Split(s, ".")
	return parts[0] + "." + base64.RawURLEncoding.EncodeToString(c) + "." + parts[2]
}
