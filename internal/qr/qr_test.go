package qr

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/corridorlane/corridor/internal/testdata"
)

const sample = "HC1:6BF+70790T9WJWG.FKY*4GO0.O1CV2 O5 N2FBBRW1*70HS8WY04AC*WIFN0AHCD8KD97TK0F90KECTHGWJC0FDC:5AIA%G7X+AQB9746HS80:54IBQF60R6$A80X6S1BTYACG6M+9XG8KIAWNA91AY%67092L4WJCT3EHS8XJC$+DXJCCWENF6OF63W5NW6WF6%JC QE/IAYJC5LEW34U3ET7DXC9 QE-ED8%E.JCBECB1A-:8$96646AL60A60S6Q$D.UDRYA 96NF6L/5QW6307KQEPD09WEQDD+Q6TW6FA7C466KCN9E%961A6DL6FA7D46JPCT3E5JDLA7$Q6E464W5TG6..DX%DZJC6/DTZ9 QE5$CB$DA/D JC1/D3Z8WED1ECW.CCWE.Y92OAGY8MY9L+9MPCG/D5 C5IA5N9$PC5$CUZCY$5Y$527B+A4KZNQG5TKOWWD9FL%I8U$F7O2IBM85CWOC%LEZU4R/BXHDAHN 11$CA5MRI:AONFN7091K9FKIGIY%VWSSSU9%01FO2*FTPQ3C3F"

func TestEncodeIsAlphanumericLevelQ(t *testing.T) {
	c, err := Encode(sample)
	if err != nil {
		t.Fatal(err)
	}
	if c.Mode != "ALPHANUMERIC" || c.Level != "Q" {
		t.Fatalf("mode %s level %s, want ALPHANUMERIC Q", c.Mode, c.Level)
	}
	if _, err := Encode("hc1:lower case is outside the alphanumeric set"); err == nil {
		t.Fatal("lower-case text encoded, want a refusal")
	}
	if _, err := Encode(""); err == nil {
		t.Fatal("empty text encoded")
	}
}

func TestRoundTripPNG(t *testing.T) {
	png, err := EncodePNG(sample)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(bytes.NewReader(png))
	if err != nil {
		t.Fatal(err)
	}
	if got != sample {
		t.Fatalf("read back %q", got)
	}
}

// A phone photo: the code is smaller than the frame, sits off-centre on a
// grey background, and is JPEG-compressed.
func TestReadsJPEGPhoto(t *testing.T) {
	c, err := Encode(sample)
	if err != nil {
		t.Fatal(err)
	}
	code := c.Image(3)
	b := code.Bounds()
	canvas := image.NewRGBA(image.Rect(0, 0, b.Dx()+173, b.Dy()+91))
	draw.Draw(canvas, canvas.Bounds(), &image.Uniform{color.Gray{Y: 180}}, image.Point{}, draw.Src)
	draw.Draw(canvas, b.Add(image.Pt(120, 40)), code, image.Point{}, draw.Src)
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, canvas, &jpeg.Options{Quality: 55}); err != nil {
		t.Fatal(err)
	}
	got, err := Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if got != sample {
		t.Fatalf("read back %q", got)
	}
}

func TestRefusesNonPictures(t *testing.T) {
	for name, in := range map[string][]byte{
		"empty":     nil,
		"text":      []byte(sample),
		"truncated": func() []byte { p, _ := EncodePNG(sample); return p[:len(p)/2] }(),
	} {
		if _, err := Decode(bytes.NewReader(in)); err == nil {
			t.Errorf("%s: decoded, want an error", name)
		}
	}
	blank := image.NewGray(image.Rect(0, 0, 200, 200))
	if _, err := DecodeImage(blank); err == nil || !strings.Contains(err.Error(), "no readable QR code") {
		t.Errorf("blank picture: %v", err)
	}
}

// The pictures that national issuers published with their test vectors must
// read back to the vector's HC1 text.
func TestReadsPublishedVectors(t *testing.T) {
	files, err := filepath.Glob(testdata.Path(t, "dcc", "*", "2DCode", "raw", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no vectors: %v", err)
	}
	read := 0
	for _, f := range files {
		var v struct {
			Image    string `json:"2DCODE"`
			Prefix   string `json:"PREFIX"`
			Expected struct {
				Picture *bool `json:"EXPECTEDPICTUREDECODE"`
			} `json:"EXPECTEDRESULTS"`
		}
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if v.Expected.Picture == nil || !*v.Expected.Picture || v.Image == "" {
			continue
		}
		png, err := base64.StdEncoding.DecodeString(v.Image)
		if err != nil {
			t.Fatalf("%s: picture is not base64: %v", f, err)
		}
		got, err := Decode(bytes.NewReader(png))
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if got != v.Prefix {
			t.Errorf("%s: picture reads %.40q..., PREFIX is %.40q...", f, got, v.Prefix)
		}
		read++
	}
	if read < 50 {
		t.Fatalf("only %d pictures read", read)
	}
}

func FuzzDecode(f *testing.F) {
	png, err := EncodePNG(sample)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(png)
	f.Add([]byte("\x89PNG\r\n\x1a\n"))
	f.Add([]byte{0xff, 0xd8, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = Decode(bytes.NewReader(data))
	})
}

// Every code Corridor draws must read back from its own picture, whatever
// its content: random Base45 texts of credential lengths, as the issuer
// makes them.
func TestEveryDrawnCodeReadsBack(t *testing.T) {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
	rng := rand.New(rand.NewPCG(7, 11))
	n := 300
	if testing.Short() {
		n = 40
	}
	for i := 0; i < n; i++ {
		var b strings.Builder
		b.WriteString("HC1:")
		for j, l := 0, 250+rng.IntN(500); j < l; j++ {
			b.WriteByte(alphabet[rng.IntN(len(alphabet))])
		}
		text := b.String()
		png, err := EncodePNG(text)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Decode(bytes.NewReader(png))
		if err != nil || got != text {
			t.Fatalf("code %d (%d characters) does not read back: %v", i, len(text), err)
		}
	}
}
