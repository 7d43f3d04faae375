package examples

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

func TestParseFaults(t *testing.T) {
	tests := []struct {
		spec string
		want Faults
	}{
		{"", Faults{}},
		{"  ", Faults{}},
		{"payment=500", Faults{PointPayment: {Kind: Kind500}}},
		{"payment=500,add-to-cart=broken,search=slow:2s", Faults{
			PointPayment: {Kind: Kind500}, PointAddToCart: {Kind: KindBroken},
			PointSearch: {Kind: KindSlow, Delay: 2 * time.Second}}},
		{" home = hang , cart=missing ", Faults{PointHome: {Kind: KindHang}, PointCart: {Kind: KindMissing}}},
		{"checkout=flaky:0.25,login=flaky:1,product=flaky:0", Faults{
			PointCheckout: {Kind: KindFlaky, P: 0.25}, PointLogin: {Kind: KindFlaky, P: 1},
			PointProduct: {Kind: KindFlaky, P: 0}}},
		{"confirmation=slow:150ms", Faults{PointConfirmation: {Kind: KindSlow, Delay: 150 * time.Millisecond}}},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			got, err := ParseFaults(tt.spec)
			if err != nil {
				t.Fatalf("ParseFaults(%q): %v", tt.spec, err)
			}
			if got.String() != tt.want.String() || len(got) != len(tt.want) {
				t.Errorf("ParseFaults(%q) = %q, want %q", tt.spec, got, tt.want)
			}
			// String round-trips.
			again, err := ParseFaults(got.String())
			if err != nil || again.String() != got.String() {
				t.Errorf("ParseFaults(%q) = %q, %v; want it back", got.String(), again, err)
			}
		})
	}
}

// TestParseFaultsErrors keeps the messages a user reads after "--faults: "
// in a golden file, so their wording is reviewed like code.
func TestParseFaultsErrors(t *testing.T) {
	specs := []string{
		"payment",
		"paymnt=500",
		"=500",
		"payment=5OO",
		"payment=",
		"payment=500:now",
		"search=slow",
		"search=slow:soon",
		"search=slow:-1s",
		"cart=flaky",
		"cart=flaky:1.5",
		"cart=flaky:-0.1",
		"payment=500,payment=hang",
		"payment=500,,home=hang",
	}
	var b strings.Builder
	for _, spec := range specs {
		f, err := ParseFaults(spec)
		if err == nil {
			t.Errorf("ParseFaults(%q) = %q, want an error", spec, f)
			continue
		}
		b.WriteString(spec + "\n\t--faults: " + err.Error() + "\n")
	}
	golden := filepath.Join("testdata", "parse-faults-errors.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("read golden file (run with -update to create it): %v", err)
	}
	if b.String() != string(want) {
		t.Errorf("error messages differ from %s (run with -update if the change is meant):\ngot:\n%s\nwant:\n%s", golden, b.String(), want)
	}
}

func TestFaultString(t *testing.T) {
	for f, want := range map[Fault]string{
		{Kind: Kind500}: "500",
		{Kind: KindSlow, Delay: 1500 * time.Millisecond}: "slow:1.5s",
		{Kind: KindFlaky, P: 0.3}:                        "flaky:0.3",
		{Kind: KindMissing}:                              "missing",
	} {
		if got := f.String(); got != want {
			t.Errorf("%#v.String() = %q, want %q", f, got, want)
		}
	}
}
