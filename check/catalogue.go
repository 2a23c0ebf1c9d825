package check

// check names one finding: its requirement ID, group and title.
type check struct{ id, group, title string }

// Checks lists every finding a run reports, in report order. A run that
// stops early reports the ones it did not reach as SKIP.
var checks = []check{
	{"R1", GroupLifecycle, "Login mints a new session ID; any earlier ID dies"},
	{"R2", GroupLifecycle, "A client-chosen session ID is never adopted"},
	{"R4", GroupLifecycle, "Logout invalidates the session on the server"},
	{"R5", GroupLifecycle, "Access tokens die at logout, or live only a short TTL"},
	{"R6", GroupLifecycle, "Logout everywhere ends every session of the user"},
	{"R8", GroupLifecycle, "Ending one device leaves the others signed in"},
	{"R15", GroupCookies, "Secure, with a __Host- or __Secure- name"},
	{"R16", GroupCookies, "Session cookie __Host-: Secure, Path=/, no Domain"},
	{"R17", GroupCookies, "HttpOnly; the value never appears in a body"},
	{"R18", GroupCookies, "SameSite Lax or Strict"},
	{"R19", GroupCookies, "Name and value within 4096 bytes"},
	{"R20", GroupCookies, "Opaque value, no personal data; Max-Age within the session's lifetime"},
	{"R21", GroupCookies, "The deletion matches the cookie: name, Domain, Path, Secure"},
	{"R21", GroupCookies, titleBrowserCookies},
	{"R22", GroupCookies, "Deletion: empty value, Max-Age=0 and an Expires in the past"},
	{"R23", GroupCookies, "Duplicate cookie names never decide by order; prefixes are case-exact"},
	{"R24", GroupCookies, "No credentials in URLs"},
	{"R25", GroupCaching, "Cache-Control: no-store on credentials and authenticated data"},
	{"R26", GroupCaching, "Logout sends Clear-Site-Data with quoted values"},
	{"R26", GroupCaching, titleBrowserClear},
	{"R26b", GroupCaching, "The back button after logout shows nothing private"},
	{"R27", GroupForgery, "No state change on GET: logout is a POST"},
	{"R28", GroupForgery, "Cross-origin unsafe requests are rejected"},
	{"R29", GroupForgery, "Origin is checked when Sec-Fetch-Site is absent"},
	{"R30", GroupForgery, "JSON endpoints refuse simple content types"},
	{"R33", GroupTokens, "Refresh tokens rotate on every use"},
	{"R34", GroupTokens, "Reuse of a spent refresh token revokes the family"},
	{"R34b", GroupTokens, "Concurrent refreshes get the same child, never a sibling"},
	{"R36", GroupTokens, titleGarbage},
	{"R36", GroupTokens, titleAgain},
	{"R40", GroupTokens, `A dead access token gets 401 with WWW-Authenticate: Bearer error="invalid_token"`},
	{"R41", GroupTokens, "Signatures are verified; alg none is refused"},
	{"R42", GroupTokens, "A refresh token is no access token, nor the other way round"},
	{"R51", GroupInstances, "Logout on one instance is seen on another at once"},
}

const (
	titleGarbage = "Logout with a garbage credential answers 2xx and clears"
	titleAgain   = "Logout is idempotent: the same credential again answers 2xx and clears"
)
