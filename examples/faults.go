package examples

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Point is a place in the shop where a fault can be injected.
type Point string

// The fault points, in the order a shopper meets them.
const (
	PointHome         Point = "home"
	PointSearch       Point = "search"
	PointProduct      Point = "product"
	PointLogin        Point = "login"
	PointAddToCart    Point = "add-to-cart"
	PointCart         Point = "cart"
	PointCheckout     Point = "checkout"
	PointPayment      Point = "payment"
	PointConfirmation Point = "confirmation"
)

// Points lists every fault point in journey order; error messages and
// Faults.String use this order.
func Points() []Point {
	return []Point{PointHome, PointSearch, PointProduct, PointLogin, PointAddToCart,
		PointCart, PointCheckout, PointPayment, PointConfirmation}
}

// Kind is what goes wrong at a fault point.
type Kind string

// The fault kinds; see the package documentation for what each does where.
const (
	// Kind500 answers the point's request with HTTP 500.
	Kind500 Kind = "500"
	// KindSlow answers the point's request after Fault.Delay.
	KindSlow Kind = "slow"
	// KindHang never answers the point's request, until the client goes away
	// or the shop is closed.
	KindHang Kind = "hang"
	// KindBroken makes the point's control throw an uncaught JavaScript error.
	KindBroken Kind = "broken"
	// KindMissing leaves the point's control out of the page.
	KindMissing Kind = "missing"
	// KindFlaky answers the point's request with HTTP 500 with probability
	// Fault.P.
	KindFlaky Kind = "flaky"
)

const validKinds = "500, slow:DURATION (e.g. slow:2s), hang, broken, missing, flaky:P (0 ≤ P ≤ 1, e.g. flaky:0.3)"

// Fault is one injected failure: a kind and its parameter.
type Fault struct {
	Kind  Kind
	Delay time.Duration // KindSlow: how long the answer takes
	P     float64       // KindFlaky: probability of a 500, in [0,1]
}

// String gives the fault in the spec syntax ParseFault reads back.
func (f Fault) String() string {
	switch f.Kind {
	case KindSlow:
		return "slow:" + f.Delay.String()
	case KindFlaky:
		return "flaky:" + strconv.FormatFloat(f.P, 'g', -1, 64)
	}
	return string(f.Kind)
}

// ParseFault reads one fault kind such as "500", "slow:2s" or "flaky:0.3".
func ParseFault(s string) (Fault, error) {
	kind, arg, hasArg := strings.Cut(strings.TrimSpace(s), ":")
	if kind == "" {
		return Fault{}, fmt.Errorf("no fault kind given; valid kinds are %s", validKinds)
	}
	switch k := Kind(kind); k {
	case Kind500, KindHang, KindBroken, KindMissing:
		if hasArg {
			return Fault{}, fmt.Errorf("fault %q takes no parameter; valid kinds are %s", s, validKinds)
		}
		return Fault{Kind: k}, nil
	case KindSlow:
		d, err := time.ParseDuration(arg)
		if err != nil || d <= 0 {
			return Fault{}, fmt.Errorf("fault %q needs a positive Go duration after \"slow:\", e.g. slow:2s or slow:500ms", s)
		}
		return Fault{Kind: k, Delay: d}, nil
	case KindFlaky:
		p, err := strconv.ParseFloat(arg, 64)
		if err != nil || p < 0 || p > 1 {
			return Fault{}, fmt.Errorf("fault %q needs a probability from 0 to 1 after \"flaky:\", e.g. flaky:0.3", s)
		}
		return Fault{Kind: k, P: p}, nil
	}
	return Fault{}, fmt.Errorf("unknown fault kind %q; valid kinds are %s", kind, validKinds)
}

// Faults maps each fault point to its fault; a point absent from the map
// works normally. The zero value is a healthy shop.
type Faults map[Point]Fault

// String gives the faults as a spec ParseFaults reads back, in point order,
// e.g. "add-to-cart=broken,payment=500"; "" when there are none.
func (f Faults) String() string {
	var parts []string
	for _, p := range Points() {
		if fault, ok := f[p]; ok {
			parts = append(parts, string(p)+"="+fault.String())
		}
	}
	return strings.Join(parts, ",")
}

// ParsePoint checks a fault point name.
func ParsePoint(s string) (Point, error) {
	p := Point(strings.TrimSpace(s))
	if !slices.Contains(Points(), p) {
		names := make([]string, 0, len(Points()))
		for _, v := range Points() {
			names = append(names, string(v))
		}
		return "", fmt.Errorf("unknown fault point %q; valid points are %s", s, strings.Join(names, ", "))
	}
	return p, nil
}

// ParseFaults reads a comma-separated spec of POINT=KIND items, such as
// "payment=500,add-to-cart=broken,search=slow:2s", as given to a --faults
// flag. An empty spec is a healthy shop. Errors name the bad item and list
// the valid points or kinds, and read well after "--faults: ".
func ParseFaults(spec string) (Faults, error) {
	faults := Faults{}
	if strings.TrimSpace(spec) == "" {
		return faults, nil
	}
	for item := range strings.SplitSeq(spec, ",") {
		item = strings.TrimSpace(item)
		name, kind, ok := strings.Cut(item, "=")
		if !ok {
			return nil, fmt.Errorf("item %q is not POINT=KIND (e.g. payment=500)", item)
		}
		p, err := ParsePoint(name)
		if err != nil {
			return nil, fmt.Errorf("item %q: %w", item, err)
		}
		if _, dup := faults[p]; dup {
			return nil, fmt.Errorf("item %q: point %s is given twice", item, p)
		}
		f, err := ParseFault(kind)
		if err != nil {
			return nil, fmt.Errorf("item %q: %w", item, err)
		}
		faults[p] = f
	}
	return faults, nil
}

// clone copies the map so callers never share it with the shop.
func (f Faults) clone() Faults {
	c := make(Faults, len(f))
	for k, v := range f {
		c[k] = v
	}
	return c
}
