// Package web holds the assets of signoff serve's web app, embedded so the
// server needs no build step: index.html (a template the server fills in with
// the mode) and static/.
package web

import "embed"

// FS holds index.html and static/.
//
//go:embed index.html static
var FS embed.FS
