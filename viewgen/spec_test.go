package viewgen

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestParseSpec(t *testing.T) {
	tests := []struct {
		in   string
		want Spec
	}{
		{"ydbdr", Spec{Space: YDbDr, Split: DefaultSplit()}},
		{"ydbdr:0|1,2", Spec{Space: YDbDr, Split: DefaultSplit()}},
		{"Lab:2|0", Spec{Space: Lab, Split: Split{V1: []int{2}, V2: []int{0}}}},
		{"ydbdr:0|1,2+crop=0.2+flip+jitter=1.0+gray=0.2", Spec{
			Space: YDbDr, Split: DefaultSplit(),
			Augment: []Aug{Crop(0.2), Flip(), Jitter(1), Gray(0.2)},
		}},
		{"rgb:0,1,2|0,1,2+patch=64,offset=32+size=32", Spec{
			Space: RGB, Split: Split{V1: []int{0, 1, 2}, V2: []int{0, 1, 2}},
			Size: 32, Patch: 64, Offset: 32,
		}},
		{"lab:0|1,2+jitter=0.5,p=1+blur=2,p=0.3+randaug=10,n=3+flip=1+drop=0.4+jigsaw", Spec{
			Space: Lab, Split: DefaultSplit(),
			Augment: []Aug{
				{Name: "jitter", Strength: 0.5, P: 1},
				{Name: "blur", Strength: 2, P: 0.3},
				{Name: "randaug", Strength: 10, P: 1, N: 3},
				{Name: "flip", P: 1},
				{Name: "drop", P: 0.4},
				Jigsaw(),
			},
		}},
		{"lab:0|1,2+shared+crop", Spec{Space: Lab, Split: DefaultSplit(), Shared: true, Augment: []Aug{Crop(0.08)}}},
		{"hsv:0|1+gray,p=0.5", Spec{Space: HSV, Split: Split{V1: []int{0}, V2: []int{1}}, Augment: []Aug{Gray(0.5)}}},
	}
	for _, tt := range tests {
		got, err := ParseSpec(tt.in)
		if err != nil {
			t.Errorf("ParseSpec(%q): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseSpec(%q) =\n %+v, want\n %+v", tt.in, got, tt.want)
		}
		// The written form reads back to the same spec.
		again, err := ParseSpec(got.String())
		if err != nil || !reflect.DeepEqual(again, got) {
			t.Errorf("ParseSpec(%q) = %+v, %v; want %+v", got.String(), again, err, got)
		}
	}
}

func TestSpecStringCanonical(t *testing.T) {
	canonical := []string{
		"ydbdr:0|1,2",
		"lab:0|1,2+crop=0.2+flip+jitter+gray",
		"rgb:0,1,2|0,1,2+size=32+patch=16,offset=8",
		"rgb:0,1,2|0,1,2+patch=16",
		"rgb:0,1,2|0,1,2+size=24+patch=16,offset=4+shared+jitter",
		"ycbcr:1,2|0+crop+flip+jitter+blur+randaug=10+gray",
		"rgbcie:0|1,2+jitter=0.5,p=0.9+randaug=5,p=0.5,n=1+drop=0.3+jigsaw=0.5",
	}
	for _, s := range canonical {
		spec, err := ParseSpec(s)
		if err != nil {
			t.Errorf("ParseSpec(%q): %v", s, err)
			continue
		}
		if got := spec.String(); got != s {
			t.Errorf("ParseSpec(%q).String() = %q", s, got)
		}
	}
	infomin := Spec{Space: RGB, Split: Split{V1: []int{0, 1, 2}, V2: []int{0, 1, 2}}, Augment: InfoMinAugment()}
	if got, want := infomin.String(), "rgb:0,1,2|0,1,2+crop+flip+jitter+blur+randaug=10+gray"; got != want {
		t.Errorf("InfoMin spec = %q, want %q", got, want)
	}
}

func TestParseSpecErrors(t *testing.T) {
	tests := []struct{ in, wantErr string }{
		{"", "empty colour space"},
		{"ydbd:0|1,2", `unknown colour space "ydbd": known are rgb, ycbcr, ydbdr`},
		{"ydbdr:0|1,3", "v2 channel 3 is out of range"},
		{"ydbdr:0-1,2", "bar"},
		{"lab+jiter=1", `token "jiter=1": unknown augmentation "jiter"`},
		{"lab+crop=big", `token "crop=big": crop value "big" is not a finite number`},
		{"lab+crop=NaN", `crop value "NaN" is not a finite number`},
		{"lab+crop=0", `token "crop=0": crop: strength 0 is out of range (0, 1]`},
		{"lab+jitter=1,q=2", `token "jitter=1,q=2": jitter has no field "q": known are p`},
		{"lab+randaug=9,k=2", `known are p, n`},
		{"lab+randaug,n=two", `n value "two" is not an integer`},
		{"lab+gray=1.5", `token "gray=1.5": gray: probability 1.5 is out of range`},
		{"lab+flip,p", `field "p" has no value`},
		{"lab++flip", "empty token"},
		{"lab+flip+", "empty token"},
		{"lab+size", "size needs a value"},
		{"lab+size=32+size=64", `token "size=64": size is given twice`},
		{"lab+size=-3", "size -3 is negative"},
		{"lab+patch=16,off=3", `patch has no field "off"`},
		{"lab+size=3.5", `size value "3.5" is not an integer`},
		{"lab+=3", "has no name"},
		{"lab+shared=1", `token "shared=1": shared takes no value`},
		{"lab+shared+shared", "shared is given twice"},
	}
	for _, tt := range tests {
		_, err := ParseSpec(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("ParseSpec(%q) error = %v, want it to contain %q", tt.in, err, tt.wantErr)
		}
	}
}

func TestSpecValidate(t *testing.T) {
	tests := []struct {
		spec    Spec
		wantErr string
	}{
		{Spec{Space: Lab}, "v1 keeps no channel"},
		{Spec{Space: ColorSpace(99), Split: DefaultSplit()}, "invalid colour space 99"},
		{Spec{Space: Lab, Split: DefaultSplit(), Offset: 4}, "offset 4 without a patch size"},
		{Spec{Space: Lab, Split: DefaultSplit(), Augment: []Aug{{Name: "crop"}}}, "crop: strength 0"},
	}
	for _, tt := range tests {
		err := tt.spec.Validate()
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%+v.Validate() = %v, want %q", tt.spec, err, tt.wantErr)
		}
	}
}

func TestSpecJSON(t *testing.T) {
	type profile struct {
		View  Spec       `json:"view"`
		Space ColorSpace `json:"space"`
	}
	in := `{"view":"ydbdr:0|1,2+crop=0.2+flip","space":"lab"}`
	var p profile
	if err := json.Unmarshal([]byte(in), &p); err != nil {
		t.Fatal(err)
	}
	if p.Space != Lab || p.View.Space != YDbDr || len(p.View.Augment) != 2 || p.View.Augment[0].Strength != 0.2 {
		t.Errorf("decoded %+v", p)
	}
	out, err := json.Marshal(p)
	if err != nil || string(out) != in {
		t.Errorf("json.Marshal = %s, %v; want %s", out, err, in)
	}
	if err := json.Unmarshal([]byte(`{"view":"ydbdr+bogus"}`), &p); err == nil || !strings.Contains(err.Error(), "bogus") {
		t.Errorf("decoding a bad spec: error = %v", err)
	}
}
