package dcc

import "strings"

// pointer appends one reference token to a JSON Pointer (RFC 6901), the
// path notation of violations and parse errors.
func pointer(parent, token string) string {
	if strings.ContainsAny(token, "~/") {
		token = strings.NewReplacer("~", "~0", "/", "~1").Replace(token)
	}
	return parent + "/" + token
}
