package app

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestLogsHoldNoPersonalData(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{ReplaceAttr: RedactAttr}))
	p := Principal{Kind: KindUser, ID: "u123", OrgID: "o1"}
	log.Info("request",
		slog.String("email", "wei.zhang@example.cn"),
		slog.String("passport_number", "E12345678"),
		slog.String("Given-Name", "Wei"),
		slog.String("client_ip", "198.51.100.7"),
		slog.Any("traveller", Redacted("Zhang Wei")),
		slog.Any("who", p),
		slog.Group("trip", slog.String("reference", "KR-ABCDEFGH"), slog.String("family_name", "Zhang")),
		slog.String("name", "Zhang"),
	)
	out := buf.String()
	for _, pd := range []string{"wei.zhang", "E12345678", "Wei", "Zhang", "198.51.100.7"} {
		if strings.Contains(out, pd) {
			t.Errorf("log holds %q: %s", pd, out)
		}
	}
	for _, keep := range []string{"KR-ABCDEFGH", "user:u123", `"org":"o1"`} {
		if !strings.Contains(out, keep) {
			t.Errorf("log lost %q: %s", keep, out)
		}
	}
	// Redacted redacts even under a key no list names.
	buf.Reset()
	slog.New(slog.NewTextHandler(&buf, nil)).Info("x", slog.Any("whatever", Redacted("Zhang Wei")))
	if strings.Contains(buf.String(), "Zhang") {
		t.Fatalf("Redacted leaked: %s", buf.String())
	}
}
