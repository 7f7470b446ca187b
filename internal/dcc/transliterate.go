package dcc

import (
	"fmt"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Transliterate standardises a name the way ICAO Doc 9303 Part 3 writes
// names in a machine readable zone, which is how the DCC fills fnt and gnt:
// capitals A-Z only; the Latin letters of the ICAO table expanded as it
// says (Ä AE, Å AA, Æ AE, Ö OE, Ø OE, Ü UE, ß SS, Þ TH, Ĳ IJ, Œ OE) and
// other accented Latin letters reduced to their base letter; Cyrillic by
// the ICAO table; apostrophes dropped; spaces, hyphens, commas and full
// stops turned into the filler '<' (as is '<' itself), runs of fillers
// merged and fillers at either end dropped. The result is cut to 80
// characters, the schema's limit, without a trailing filler.
//
// A name in a script ICAO gives no table for here (Greek, Arabic, Han,
// Hangul, ...), or holding digits or other signs, is refused: the issuer
// must then supply the standardised name from the travel document.
func Transliterate(name string) (string, error) {
	var b strings.Builder
	filler := false // a filler is pending: written only before the next letter
	for _, r := range norm.NFC.String(name) {
		out, ok := transliterateRune(r)
		switch {
		case !ok:
			return "", fmt.Errorf("dcc: cannot standardise the name: %q has no ICAO 9303 transliteration; give the standardised name as written in the travel document", r)
		case out == "<":
			filler = b.Len() > 0
		case out != "":
			if filler {
				b.WriteByte('<')
				filler = false
			}
			b.WriteString(out)
		}
	}
	s := b.String()
	if s == "" {
		return "", fmt.Errorf("dcc: cannot standardise the name: it holds no letters")
	}
	if len(s) > maxTextLength {
		s = strings.TrimRight(s[:maxTextLength], "<")
	}
	return s, nil
}

// transliterateRune maps one character: a string of capitals, "<" for a
// filler, "" for a character to drop, or ok=false when it has none.
func transliterateRune(r rune) (out string, ok bool) {
	switch {
	case r >= 'A' && r <= 'Z':
		return string(r), true
	case r >= 'a' && r <= 'z':
		return string(r - 'a' + 'A'), true
	case r == '\'' || r == '’' || r == 'ʼ' || r == '‘' || r == '`' || r == '´':
		return "", true // apostrophes are omitted: D'ARTAGNAN is DARTAGNAN
	case r == '<' || r == '-' || r == '‐' || r == '‑' || r == '–' || r == ',' || r == '.' || unicode.IsSpace(r):
		return "<", true
	case unicode.Is(unicode.Mn, r):
		return "", true // a stray combining mark that did not compose with its letter
	}
	if s, found := icaoLatin[r]; found {
		return s, true
	}
	if s, found := icaoLatin[unicode.ToUpper(r)]; found {
		return s, true
	}
	if s, found := icaoCyrillic[unicode.ToUpper(r)]; found {
		return s, true
	}
	if unicode.Is(unicode.Latin, r) {
		// An accented Latin letter ICAO reduces to its base letter:
		// decompose and keep the letter if what is left is A-Z.
		base := strings.Map(func(c rune) rune {
			if unicode.Is(unicode.Mn, c) {
				return -1
			}
			return c
		}, norm.NFD.String(string(unicode.ToUpper(r))))
		if len(base) == 1 && base[0] >= 'A' && base[0] <= 'Z' {
			return base, true
		}
	}
	return "", false
}

// icaoLatin holds the Latin letters of ICAO 9303 Part 3 that do not simply
// lose a diacritic: expansions, and letters with a stroke or other mark
// that Unicode does not decompose.
var icaoLatin = map[rune]string{
	'Ä': "AE", 'Å': "AA", 'Æ': "AE", 'Ö': "OE", 'Ø': "OE", 'Ü': "UE",
	'Œ': "OE", 'Ĳ': "IJ", 'Þ': "TH", 'ẞ': "SS", 'ß': "SS",
	'Ð': "D", 'Đ': "D", 'Ħ': "H", 'İ': "I", 'ı': "I", 'Ŀ': "L", 'Ł': "L",
	'Ŋ': "N", 'Ŧ': "T",
}

// icaoCyrillic holds the ICAO 9303 transliteration of Cyrillic (Russian,
// Belarusian, Ukrainian, Bulgarian, Serbian and Macedonian letters), from
// its general column: the language-specific variants (such as Ukrainian
// Г as H) depend on the holder's nationality, which a name alone does not
// tell, so such names need the standardised form from the travel document.
var icaoCyrillic = map[rune]string{
	'А': "A", 'Б': "B", 'В': "V", 'Г': "G", 'Д': "D", 'Е': "E", 'Ё': "E",
	'Ж': "ZH", 'З': "Z", 'И': "I", 'Й': "I", 'К': "K", 'Л': "L", 'М': "M",
	'Н': "N", 'О': "O", 'П': "P", 'Р': "R", 'С': "S", 'Т': "T", 'У': "U",
	'Ф': "F", 'Х': "KH", 'Ц': "TS", 'Ч': "CH", 'Ш': "SH", 'Щ': "SHCH",
	'Ъ': "IE", 'Ы': "Y", 'Ь': "", 'Э': "E", 'Ю': "IU", 'Я': "IA",
	'Ґ': "G", 'Є': "IE", 'І': "I", 'Ї': "I", 'Ў': "U",
	'Ђ': "D", 'Ѓ': "G", 'Ѕ': "DZ", 'Ј': "J", 'Љ': "LJ", 'Њ': "NJ",
	'Ћ': "C", 'Ќ': "K", 'Џ': "DZ",
}
