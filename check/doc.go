// Package check audits a site's logout from outside, as `signoff check URL`
// does: it signs in, uses the credential, refreshes it, signs out, and then
// replays every old credential (the cookies, the refresh token, the access
// token) to see whether the server still accepts them. On the way it reads
// how cookies are set and deleted and sends what an attacker would: made-up
// session IDs, duplicate cookies, a credential in the URL, forged tokens, a
// GET and cross-site requests to the logout path, a sign-in that presents a
// live session, a reused refresh token. It works on any site, not only
// signoff, and needs nothing installed on it.
//
// Each finding is a Result under the ID of a requirement in the logout
// checklist, docs/checklist.md ("R4": logout invalidates the session on
// the server), with a Verdict (FAIL, WARN, SKIP or PASS), one line of
// evidence, and a link to the requirement's row (Result.Ref). SKIP says
// why a check could not run: the site has no refresh endpoint, the check
// needs a browser (R26b without Config.Browser), the run stopped before it.
// Credentials appear in a Report only as fingerprints (fp:…), and the
// password not at all; Write renders a Report as text, JSON, JUnit XML or
// one self-contained HTML page (WriteHTML, with the diagram as SVG), and
// WriteDiagram the main sign-in → sign-out → replay exchange as a Mermaid
// sequence diagram.
//
// A run sends at most Config.MaxRequests requests (300 by default), each
// within Config.Timeout, and never follows a redirect, so a site cannot
// lead it, or the credentials it carries, to another host. It waits out
// 429 answers as Retry-After asks, within Config.MaxWait over the whole
// run. Once the budget is spent, or a later sign-in is refused, the run
// stops and the checks it did not reach are SKIP with the reason; Run
// returns an error only when the run cannot get going: a bad Config
// (ErrUsage, which includes a budget too small to sign in), a site it
// cannot reach, a first sign-in that fails or whose credential does not
// open Config.Protected. `signoff check` exits 0 when no check fails, 1
// when one does, and 2 when Run returns an error.
//
// The run creates and ends sessions, signs the account out everywhere and
// reuses a refresh token on purpose: point it at a test account on a
// staging site, never at production.
package check

// The code, for those who work on it: a run is a pipeline whose driver is
// runner.stages in run.go. Each stage is a function that takes what it
// reads (the credential, what earlier stages found) and returns what it
// found; the shared runner holds only the configuration, the client, the
// answer without a credential, the credential cookies of the first
// sign-in, and the findings and ledger that stages add to. The stages, in
// order: probe.go (the protected path without a credential), signin.go,
// cookies.go (how sign-in set the cookies), auth.go (which part of the
// credential opens the path), refresh.go (two refreshes at once),
// logout.go (logout and the replays), logout_again.go, then the probes
// that need a live session, one probe_*.go each, browser.go (Chromium
// signs in and out, with Config.Browser), and last finish.go (the checks
// made from what the run gathered). catalogue.go lists the checks.
// Under them: client.go sends within the budget, resp.go and cred.go are
// what a request carries and gets back, story.go and scrub.go make the
// report's exchanges, with fingerprints in place of credentials.
