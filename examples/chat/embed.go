// Package chat embeds the chat example's configuration, so that
// `wsgwctl demo` can serve it on a machine that has only the binary.
package chat

import "embed"

// Files holds the example's *.wsgw.hcl files and the JSON schemas they read,
// at the same paths as in this directory.
//
//go:embed *.wsgw.hcl schemas
var Files embed.FS
