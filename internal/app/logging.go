package app

import (
	"log/slog"
	"strings"
)

// Personal data never reaches the logs. Two guards:
//
//   - the values that carry it redact themselves: Redacted wraps a string,
//     and Principal logs only its kind and id;
//   - RedactAttr, given to the handler as HandlerOptions.ReplaceAttr,
//     blanks any attribute whose key names personal data, whatever its
//     value, in case someone logs a field by hand.
//
// Log ids (trip, user, token ids) and references instead: they identify
// without telling who.

// Redacted is a string that logs as "[redacted]".
type Redacted string

// LogValue implements slog.LogValuer.
func (Redacted) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// personalKeys are attribute keys (lower case, compared after removing
// '_', '-' and '.') that name personal data.
var personalKeys = []string{
	"name", "givenname", "familyname", "fn", "gn", "fnt", "gnt", "email", "mail", "phone", "passport", "passportnumber",
	"dob", "dateofbirth", "birth", "address", "password", "secret", "token", "cookie", "session", "note", "reason",
	"answer", "question", "symptoms", "temperature", "hc1", "flight", "seat", "ip", "clientip", "remoteaddr", "traveller",
	"nationality",
}

var personalSet = func() map[string]bool {
	m := make(map[string]bool, len(personalKeys))
	for _, k := range personalKeys {
		m[k] = true
	}
	return m
}()

// IsPersonalKey tells whether a log attribute key names personal data.
func IsPersonalKey(key string) bool {
	k := strings.ToLower(strings.NewReplacer("_", "", "-", "", ".", "").Replace(key))
	return personalSet[k]
}

// RedactAttr is a slog ReplaceAttr function that blanks attributes whose
// key names personal data.
func RedactAttr(groups []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() != slog.KindGroup && IsPersonalKey(a.Key) {
		return slog.String(a.Key, "[redacted]")
	}
	return a
}
