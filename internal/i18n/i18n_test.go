package i18n

import (
	"strings"
	"testing"
)

func TestLoadChecksEveryLanguage(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Keys()) < 100 {
		t.Fatalf("only %d keys: the catalogs did not load", len(c.Keys()))
	}
	for _, l := range Langs {
		for _, k := range c.Keys() {
			if _, ok := c.msgs[l][k]; !ok {
				t.Errorf("%s lacks %q", l, k)
			}
		}
	}
}

// TestTranslationsDiffer catches a key copied from English into the other
// catalogs without being translated. Proper nouns and codes that read the
// same in every language are listed.
func TestTranslationsDiffer(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	same := map[string]bool{"step.base45": true, "list.sep": true, "verdict.detail": true}
	for _, k := range c.Keys() {
		en := c.msgs[EN][k]
		for _, l := range []Lang{ZH, KO} {
			if c.msgs[l][k] == en && !same[k] && strings.ContainsAny(en, "abcdefghijklmnopqrstuvwxyz") {
				t.Errorf("%s: %q is the English text %q", l, k, en)
			}
		}
	}
}

func TestCheckRefusesDisagreements(t *testing.T) {
	cases := []struct {
		name   string
		en, tr map[string]string
		want   string
	}{
		{"missing", map[string]string{"a": "A"}, map[string]string{}, "lacks"},
		{"extra", map[string]string{}, map[string]string{"b": "B"}, "English lacks"},
		{"arg count", map[string]string{"a": "%d trips"}, map[string]string{"a": "行程"}, "arguments"},
		{"arg kind", map[string]string{"a": "%d trips"}, map[string]string{"a": "%s 行程"}, "takes"},
		{"app arg kind", map[string]string{"apperr.x": "at most %d"}, map[string]string{"apperr.x": "最多 %d"}, "as text"},
	}
	for _, tc := range cases {
		c := &Catalog{msgs: map[Lang]map[string]string{EN: tc.en, ZH: tc.tr, KO: tc.tr}}
		err := c.check()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error about %q", tc.name, err, tc.want)
		}
	}
	ok := &Catalog{msgs: map[Lang]map[string]string{
		EN: {"a": "%s of %d", "apperr.x": "%d of %s"},
		ZH: {"a": "%[2]d 中的 %[1]s", "apperr.x": "%[2]s 的 %[1]s"},
		KO: {"a": "%s / %d", "apperr.x": "%s / %s"},
	}}
	if err := ok.check(); err != nil {
		t.Errorf("indexed and reordered arguments refused: %v", err)
	}
}

func TestDecodeRefusesDuplicatesAndEmpty(t *testing.T) {
	if _, err := decode([]byte(`{"a": "x", "a": "y"}`)); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("duplicate key: got %v", err)
	}
	if _, err := decode([]byte(`{"a": " "}`)); err == nil {
		t.Error("an empty message was accepted")
	}
	if _, err := decode([]byte(`{"a": "x"} {}`)); err == nil {
		t.Error("trailing data was accepted")
	}
}

func TestMessageTranslatesApplicationMessages(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		in       string
		lang     Lang
		want     string
		wantKnow bool
	}{
		{"must be at most 80 characters", ZH, "最多 80 个字符", true},
		{"must be at most 80 characters", EN, "must be at most 80 characters", true},
		{"cannot approve a trip that is draft (allowed from: submitted)", ZH, "无法对状态为草稿的行程执行“批准”（允许的状态：已提交）", true},
		{"trip not found", KO, "여행을(를) 찾을 수 없습니다", true},
		{"the weekly quota of 20 approvals for KR on lane CN-KR is used up for week 2020-W20", ZH,
			"通道 CN-KR 上 KR 的每周 20 个名额在 2020-W20 周已用完", true},
		{"something nobody wrote a pattern for", KO, "something nobody wrote a pattern for", false},
	}
	for _, tc := range cases {
		got, known := c.Message(tc.lang, tc.in)
		if got != tc.want || known != tc.wantKnow {
			t.Errorf("Message(%s, %q) = %q, %v; want %q, %v", tc.lang, tc.in, got, known, tc.want, tc.wantKnow)
		}
	}
}

func TestMatch(t *testing.T) {
	cases := map[string]Lang{
		"":                             EN,
		"zh-CN,zh;q=0.9,en;q=0.8":      ZH,
		"ko-KR,ko;q=0.9":               KO,
		"en-GB,en;q=0.9":               EN,
		"fr-FR,fr;q=0.9":               EN,
		"de;q=0.9, ko;q=0.5, zh;q=0.4": KO,
		"zh-TW":                        ZH,
		"garbage;;;q=x":                EN,
	}
	for header, want := range cases {
		if got := Match(header); got != want {
			t.Errorf("Match(%q) = %s, want %s", header, got, want)
		}
	}
}

func TestTMarksMissingKeys(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if got := c.T(KO, "no.such.key"); !strings.HasPrefix(got, MissingPrefix) {
		t.Errorf("a missing key rendered as %q", got)
	}
	if got := c.T(ZH, "trips.count", 3); got != "共 3 个行程" {
		t.Errorf("T = %q", got)
	}
}
