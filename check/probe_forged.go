package check

import (
	"context"
	"strings"
)

// forgedTokens sends the live access token re-signed with alg none, and with
// a claim changed under the old signature (R41). It returns the answer to
// the alg-none token, if it sent one, for R40.
func (r *runner) forgedTokens(ctx context.Context, how auth, live cred) *resp {
	switch {
	case live.at == "":
		r.add("R41", Skip, "sign-in returned no access token")
		return nil
	case !how.bearer:
		r.add("R41", Skip, "the access token alone does not open %s", r.cfg.Protected)
		return nil
	}
	if _, _, ok := jwtParts(live.at); !ok {
		r.add("R41", Skip, "the access token is opaque: nothing to forge")
		return nil
	}
	none := r.probe(ctx, `forge the access token with alg "none"`, cred{at: forgeNone(live.at)}, sendBearer, false)
	changed := r.probe(ctx, "change a claim under the old signature", cred{at: tamper(live.at)}, sendBearer, false)
	var bad []string
	if r.classify(none) == accepted {
		bad = append(bad, `alg "none" with no signature → `+none.describe())
	}
	if r.classify(changed) == accepted {
		bad = append(bad, "a changed exp under the old signature → "+changed.describe())
	}
	if len(bad) > 0 {
		r.add("R41", Fail, "%s: the signature is not verified", strings.Join(bad, "; "))
		return none
	}
	r.add("R41", Pass, `alg "none" → %s, a changed exp under the old signature → %s`, none.describe(), changed.describe())
	return none
}
