package examples

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// startShop serves a shop on 127.0.0.1 for one test.
func startShop(t *testing.T, opts Options) (*Shop, *httptest.Server) {
	t.Helper()
	shop := NewShop(opts)
	srv := httptest.NewServer(shop)
	t.Cleanup(srv.Close)
	t.Cleanup(shop.Close) // runs first: releases hanging handlers so Close can return
	return shop, srv
}

// visitor is one browser: its own cookie jar, following redirects.
type visitor struct {
	t    *testing.T
	c    *http.Client
	base string
}

func newVisitor(t *testing.T, srv *httptest.Server) *visitor {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &visitor{t, &http.Client{Jar: jar, Timeout: 10 * time.Second}, srv.URL}
}

type answer struct {
	status int
	body   string
	path   string // after redirects
}

func (v *visitor) do(req *http.Request) answer {
	v.t.Helper()
	res, err := v.c.Do(req)
	if err != nil {
		v.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		v.t.Fatalf("read %s %s: %v", req.Method, req.URL, err)
	}
	return answer{res.StatusCode, string(b), res.Request.URL.Path}
}

func (v *visitor) get(path string) answer {
	v.t.Helper()
	req, err := http.NewRequest(http.MethodGet, v.base+path, nil)
	if err != nil {
		v.t.Fatal(err)
	}
	return v.do(req)
}

func (v *visitor) send(method, path, contentType, body string) answer {
	v.t.Helper()
	req, err := http.NewRequest(method, v.base+path, strings.NewReader(body))
	if err != nil {
		v.t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	return v.do(req)
}

func (v *visitor) post(path string, form url.Values) answer {
	v.t.Helper()
	return v.send(http.MethodPost, path, "application/x-www-form-urlencoded", form.Encode())
}

func (v *visitor) add(slug string, qty int) answer {
	v.t.Helper()
	b, _ := json.Marshal(map[string]any{"slug": slug, "quantity": qty})
	return v.send(http.MethodPost, "/api/cart", "application/json", string(b))
}

func hasHook(body, name string) bool { return strings.Contains(body, `data-test="`+name+`"`) }

var badgeRe = regexp.MustCompile(`data-test="cart-badge"[^>]*>(\d+)<`)

// badge reads the cart badge's number from a page.
func badge(t *testing.T, body string) string {
	t.Helper()
	m := badgeRe.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no cart badge in page:\n%s", body)
	}
	return m[1]
}

func goodAddress() url.Values {
	return url.Values{"name": {"Grace Guest"}, "email": {"grace.guest@example.com"},
		"address": {"10 Downing Street"}, "city": {"London"}, "postcode": {"SW1A 2AA"}, "country": {"GB"}}
}

func goodCard() url.Values {
	return url.Values{"card-number": {"4242 4242 4242 4242"}, "card-expiry": {"12/39"}, "card-cvc": {"123"}}
}

// buy takes a visitor from an empty cart to a confirmation page.
func buy(t *testing.T, v *visitor) answer {
	t.Helper()
	if a := v.add("backpack", 1); a.status != http.StatusOK {
		t.Fatalf("add backpack: %d %s", a.status, a.body)
	}
	if a := v.post("/checkout", goodAddress()); a.path != "/payment" {
		t.Fatalf("checkout went to %s (%d), want /payment:\n%s", a.path, a.status, a.body)
	}
	return v.post("/payment", goodCard())
}

func TestPagesRenderWithTheirHooks(t *testing.T) {
	_, srv := startShop(t, Options{})
	v := newVisitor(t, srv)
	if a := v.add("bike-light", 2); a.status != http.StatusOK {
		t.Fatalf("add: %d %s", a.status, a.body)
	}
	common := []string{"search-input", "search-submit", "cart-link", "cart-badge", "sign-in", "cart-message", "cart-error"}
	tests := []struct {
		path  string
		hooks []string
	}{
		{"/", []string{"catalogue", "product-backpack", "add-backpack", "product-sleeping-bag", "add-sleeping-bag", "open-tent"}},
		{"/search?q=light", []string{"search-results", "product-bike-light", "add-bike-light", "product-torch", "result-count"}},
		{"/search?q=kayak", []string{"no-results"}},
		{"/product/tent", []string{"details", "product-name", "product-price", "quantity", "add-tent"}},
		{"/login", []string{"login-email", "login-password", "login-submit"}},
		{"/cart", []string{"line-bike-light", "qty-bike-light", "update-bike-light", "remove-bike-light", "cart-total", "checkout", "empty-cart"}},
		{"/checkout", []string{"name", "email", "address", "city", "postcode", "country", "continue-to-payment", "error-email", "error-postcode", "order-summary"}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			a := v.get(tt.path)
			if a.status != http.StatusOK {
				t.Fatalf("status %d, want 200:\n%s", a.status, a.body)
			}
			for _, h := range append(tt.hooks, common...) {
				if !hasHook(a.body, h) {
					t.Errorf("no data-test=%q in %s", h, tt.path)
				}
			}
		})
	}

	// Payment needs the delivery details, confirmation an order.
	if a := v.post("/checkout", goodAddress()); a.status != http.StatusOK || a.path != "/payment" {
		t.Fatalf("checkout: %d at %s", a.status, a.path)
	}
	a := v.get("/payment")
	for _, h := range []string{"card-number", "card-expiry", "card-cvc", "pay", "error-card-number"} {
		if !hasHook(a.body, h) {
			t.Errorf("no data-test=%q on /payment", h)
		}
	}
	a = v.post("/payment", goodCard())
	if a.status != http.StatusOK || !strings.HasPrefix(a.path, "/confirmation/") {
		t.Fatalf("payment: %d at %s", a.status, a.path)
	}
	for _, h := range []string{"order-complete", "order-id", "order-total"} {
		if !hasHook(a.body, h) {
			t.Errorf("no data-test=%q on the confirmation page", h)
		}
	}
}

func TestStaticFilesAndNotFound(t *testing.T) {
	_, srv := startShop(t, Options{})
	v := newVisitor(t, srv)
	for path, want := range map[string]int{
		"/static/shop.css":      http.StatusOK,
		"/static/shop.js":       http.StatusOK,
		"/favicon.ico":          http.StatusOK,
		"/product/kayak":        http.StatusNotFound,
		"/nowhere":              http.StatusNotFound,
		"/confirmation/WM-1":    http.StatusNotFound,
		"/static/missing.woff2": http.StatusNotFound,
	} {
		if a := v.get(path); a.status != want {
			t.Errorf("GET %s: status %d, want %d", path, a.status, want)
		}
	}
}

func TestAddToCartChangesTheBadge(t *testing.T) {
	_, srv := startShop(t, Options{})
	v := newVisitor(t, srv)
	if got := badge(t, v.get("/").body); got != "0" {
		t.Fatalf("badge before adding = %s, want 0", got)
	}
	v.add("backpack", 1)
	a := v.add("bike-light", 3)
	var c cartJSON
	if err := json.Unmarshal([]byte(a.body), &c); err != nil {
		t.Fatalf("POST /api/cart answer %q: %v", a.body, err)
	}
	if c.Count != 4 || c.Version != 2 || c.Total != "£137.50" || c.Added != "Bike light" {
		t.Errorf("POST /api/cart = %+v, want count 4, version 2, total £137.50, added Bike light", c)
	}
	if got := badge(t, v.get("/product/tent").body); got != "4" {
		t.Errorf("badge after adding = %s, want 4", got)
	}
	for body, want := range map[string]int{
		`{"slug": "kayak"}`:                   http.StatusNotFound,
		`{"slug": "tent", "quantity": 100}`:   http.StatusBadRequest,
		`{"slug": "tent", "quantity": -1}`:    http.StatusBadRequest,
		`slug=tent`:                           http.StatusBadRequest,
		`{"slug": "tent", "quantity": "two"}`: http.StatusBadRequest,
	} {
		if a := v.send(http.MethodPost, "/api/cart", "application/json", body); a.status != want {
			t.Errorf("POST /api/cart %s: status %d, want %d (%s)", body, a.status, want, a.body)
		}
	}
}

func TestCartQuantitiesAndRemoval(t *testing.T) {
	_, srv := startShop(t, Options{})
	v := newVisitor(t, srv)
	v.add("torch", 1)
	v.add("tent", 1)
	a := v.post("/cart/update", url.Values{"slug": {"torch"}, "quantity": {"3"}})
	if a.path != "/cart" || badge(t, a.body) != "4" || !strings.Contains(a.body, "£244.00") {
		t.Errorf("after setting 3 torches: at %s, badge %s, want /cart, 4 and total £244.00", a.path, badge(t, a.body))
	}
	a = v.post("/cart/remove", url.Values{"slug": {"tent"}})
	if hasHook(a.body, "line-tent") || badge(t, a.body) != "3" {
		t.Errorf("after removing the tent: line still there or badge %s, want 3", badge(t, a.body))
	}
	a = v.post("/cart/update", url.Values{"slug": {"torch"}, "quantity": {"0"}})
	if !hasHook(a.body, "cart-empty") || badge(t, a.body) != "0" {
		t.Errorf("after setting quantity 0: no empty-cart message or badge %s", badge(t, a.body))
	}
	if a := v.post("/cart/update", url.Values{"slug": {"torch"}, "quantity": {"lots"}}); a.status != http.StatusBadRequest {
		t.Errorf("quantity lots: status %d, want 400", a.status)
	}
	v.add("map-case", 2)
	if a := v.post("/cart/empty", nil); !hasHook(a.body, "cart-empty") {
		t.Error("POST /cart/empty left items in the cart")
	}
	if a := v.get("/checkout"); a.path != "/cart" {
		t.Errorf("checkout with an empty cart went to %s, want /cart", a.path)
	}
}

func TestSessionsAreIsolated(t *testing.T) {
	_, srv := startShop(t, Options{})
	ada, guest := newVisitor(t, srv), newVisitor(t, srv)
	ada.post("/login", url.Values{"email": {"ada@example.com"}, "password": {"lovelace"}})
	ada.add("tent", 2)
	guest.add("wool-socks", 1)
	if got := badge(t, ada.get("/").body); got != "2" {
		t.Errorf("ada's badge = %s, want 2", got)
	}
	g := guest.get("/cart")
	if got := badge(t, g.body); got != "1" {
		t.Errorf("guest's badge = %s, want 1", got)
	}
	if hasHook(g.body, "line-tent") || hasHook(g.body, "user-name") {
		t.Error("the guest sees ada's cart or name")
	}
}

func TestLogin(t *testing.T) {
	_, srv := startShop(t, Options{})
	tests := []struct {
		email, password, next string
		wantStatus            int
		wantPath, wantText    string
	}{
		{"ada@example.com", "lovelace", "", http.StatusOK, "/", `data-test="user-name">Ada Lovelace<`},
		{" Grace@Example.com ", "hopper", "/cart", http.StatusOK, "/cart", `data-test="user-name">Grace Hopper<`},
		{"ada@example.com", "hopper", "", http.StatusOK, "/login", `data-test="login-error"`},
		{"nobody@example.com", "x", "", http.StatusOK, "/login", "do not match"},
		{"ada@example.com", "lovelace", "//evil.example.com/", http.StatusOK, "/", "Ada Lovelace"},
	}
	for _, tt := range tests {
		t.Run(tt.email+"/"+tt.password, func(t *testing.T) {
			v := newVisitor(t, srv)
			a := v.post("/login", url.Values{"email": {tt.email}, "password": {tt.password}, "next": {tt.next}})
			if a.status != tt.wantStatus || a.path != tt.wantPath || !strings.Contains(a.body, tt.wantText) {
				t.Errorf("sign in: status %d at %s, want %d at %s with %q", a.status, a.path, tt.wantStatus, tt.wantPath, tt.wantText)
			}
		})
	}

	v := newVisitor(t, srv)
	v.post("/login", url.Values{"email": {"ada@example.com"}, "password": {"lovelace"}})
	v.add("camp-mug", 1)
	a := v.get("/checkout")
	if !strings.Contains(a.body, `value="Ada Lovelace"`) || !strings.Contains(a.body, `value="ada@example.com"`) {
		t.Error("the checkout form is not prefilled with the signed-in name and email")
	}
	a = v.post("/logout", nil)
	if hasHook(a.body, "user-name") || !hasHook(a.body, "sign-in") {
		t.Error("still signed in after POST /logout")
	}
}

func TestCheckoutValidation(t *testing.T) {
	_, srv := startShop(t, Options{})
	tests := []struct {
		name     string
		change   url.Values
		wantErrs []string // fields with an error; none means it passes
	}{
		{"valid GB", nil, nil},
		{"valid GB without space", url.Values{"postcode": {"sw1a2aa"}}, nil},
		{"valid DE", url.Values{"country": {"DE"}, "postcode": {"10115"}}, nil},
		{"valid NL", url.Values{"country": {"NL"}, "postcode": {"1012 AB"}}, nil},
		{"valid US+4", url.Values{"country": {"US"}, "postcode": {"10001-1234"}}, nil},
		{"bad email", url.Values{"email": {"grace.example.com"}}, []string{"email"}},
		{"email with space", url.Values{"email": {"grace @example.com"}}, []string{"email"}},
		{"bad GB postcode", url.Values{"postcode": {"12345"}}, []string{"postcode"}},
		{"GB postcode for DE", url.Values{"country": {"DE"}}, []string{"postcode"}},
		{"unknown country", url.Values{"country": {"XX"}}, []string{"country"}},
		{"all empty", url.Values{"name": {""}, "email": {" "}, "address": {""}, "city": {""}, "postcode": {""}},
			[]string{"name", "email", "address", "city", "postcode"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newVisitor(t, srv)
			v.add("tent", 1)
			form := goodAddress()
			for k, val := range tt.change {
				form[k] = val
			}
			a := v.post("/checkout", form)
			if len(tt.wantErrs) == 0 {
				if a.path != "/payment" {
					t.Fatalf("went to %s (%d), want /payment:\n%s", a.path, a.status, a.body)
				}
				return
			}
			if a.status != http.StatusOK || a.path != "/checkout" {
				t.Fatalf("status %d at %s, want 200 at /checkout", a.status, a.path)
			}
			shown := regexp.MustCompile(`data-test="error-([a-z-]+)">([^<]+)<`).FindAllStringSubmatch(a.body, -1)
			var fields []string
			for _, m := range shown {
				fields = append(fields, m[1])
			}
			if strings.Join(fields, ",") != strings.Join(tt.wantErrs, ",") {
				t.Errorf("errors shown for %v, want %v", fields, tt.wantErrs)
			}
			if !strings.Contains(a.body, `value="`+form.Get("address")+`"`) {
				t.Error("the form lost what the visitor typed")
			}
		})
	}
}

func TestPayment(t *testing.T) {
	now := func() time.Time { return time.Date(2030, 6, 15, 12, 0, 0, 0, time.UTC) }
	_, srv := startShop(t, Options{Now: now})

	v := newVisitor(t, srv)
	a := buy(t, v)
	if a.status != http.StatusOK || a.path != "/confirmation/WM-100001" {
		t.Fatalf("paid: status %d at %s, want 200 at /confirmation/WM-100001", a.status, a.path)
	}
	if !strings.Contains(a.body, `data-test="order-id">WM-100001<`) || !strings.Contains(a.body, "Thank you") {
		t.Errorf("the confirmation page lacks the order number or thanks:\n%s", a.body)
	}
	if badge(t, a.body) != "0" {
		t.Error("the cart was not emptied by the order")
	}
	if a := buy(t, v); a.path != "/confirmation/WM-100002" {
		t.Errorf("second order at %s, want /confirmation/WM-100002", a.path)
	}
	if a := newVisitor(t, srv).get("/confirmation/WM-100001"); a.status != http.StatusNotFound {
		t.Errorf("another visitor sees the order: status %d, want 404", a.status)
	}

	tests := []struct {
		name, field, value, wantField, wantText string
	}{
		{"other card", "card-number", "4000 0000 0000 0002", "card-number", "declined"},
		{"short number", "card-number", "4242", "card-number", "16-digit"},
		{"expired", "card-expiry", "05/30", "card-expiry", "expired"},
		{"bad expiry", "card-expiry", "13/31", "card-expiry", "MM/YY"},
		{"bad cvc", "card-cvc", "12", "card-cvc", "3 or 4 digits"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newVisitor(t, srv)
			v.add("tent", 1)
			v.post("/checkout", goodAddress())
			card := goodCard()
			card.Set(tt.field, tt.value)
			a := v.post("/payment", card)
			if a.status != http.StatusOK || a.path != "/payment" {
				t.Fatalf("status %d at %s, want 200 at /payment", a.status, a.path)
			}
			m := regexp.MustCompile(`data-test="error-` + tt.wantField + `">([^<]+)<`).FindStringSubmatch(a.body)
			if m == nil || !strings.Contains(m[1], tt.wantText) {
				t.Errorf("error-%s = %v, want it to say %q", tt.wantField, m, tt.wantText)
			}
			if strings.Contains(a.body, `value="`+tt.value+`"`) && tt.field == "card-number" {
				t.Error("the card number is echoed back")
			}
		})
	}

	// Payment before checkout goes back to the form.
	v = newVisitor(t, srv)
	v.add("tent", 1)
	if a := v.get("/payment"); a.path != "/checkout" {
		t.Errorf("payment before checkout went to %s, want /checkout", a.path)
	}
}

func TestFaultsEndpoint(t *testing.T) {
	shop, srv := startShop(t, Options{Faults: Faults{PointSearch: {Kind: KindSlow, Delay: 2 * time.Second}}})
	v := newVisitor(t, srv)
	put := func(body string) answer {
		t.Helper()
		return v.send(http.MethodPut, "/__faults", "application/json", body)
	}
	steps := []struct {
		body       string // "" means GET
		wantStatus int
		want       string // the faults afterwards, as a spec
		wantErr    string
	}{
		{"", http.StatusOK, "search=slow:2s", ""},
		{`{"payment": "500", "add-to-cart": "broken"}`, http.StatusOK, "search=slow:2s,add-to-cart=broken,payment=500", ""},
		{`{"search": ""}`, http.StatusOK, "add-to-cart=broken,payment=500", ""},
		{`{"cart": "flaky:0.25"}`, http.StatusOK, "add-to-cart=broken,cart=flaky:0.25,payment=500", ""},
		{`{"paymnt": "500"}`, http.StatusBadRequest, "add-to-cart=broken,cart=flaky:0.25,payment=500", "valid points are home, search"},
		{`{"payment": "5OO"}`, http.StatusBadRequest, "add-to-cart=broken,cart=flaky:0.25,payment=500", "unknown fault kind"},
		{`{"payment": 500}`, http.StatusBadRequest, "add-to-cart=broken,cart=flaky:0.25,payment=500", "JSON object of point → fault"},
		{`{"payment": "500"`, http.StatusBadRequest, "add-to-cart=broken,cart=flaky:0.25,payment=500", "JSON object"},
		{`null`, http.StatusBadRequest, "add-to-cart=broken,cart=flaky:0.25,payment=500", "got null"},
		{`{} {}`, http.StatusBadRequest, "add-to-cart=broken,cart=flaky:0.25,payment=500", "after the object"},
		{`{}`, http.StatusOK, "", ""},
		{`{"home": "hang"}`, http.StatusOK, "home=hang", ""},
	}
	for _, st := range steps {
		var a answer
		if st.body == "" {
			a = v.get("/__faults")
		} else {
			a = put(st.body)
		}
		if a.status != st.wantStatus || !strings.Contains(a.body, st.wantErr) {
			t.Errorf("PUT %s: status %d %s, want %d with %q", st.body, a.status, a.body, st.wantStatus, st.wantErr)
		}
		if got := shop.Faults().String(); got != st.want {
			t.Errorf("after PUT %s: faults %q, want %q", st.body, got, st.want)
		}
		if st.wantStatus == http.StatusOK {
			var m map[string]string
			if err := json.Unmarshal([]byte(a.body), &m); err != nil || len(m) != len(shop.Faults()) {
				t.Errorf("PUT %s answered %s, want the %d faults as JSON", st.body, a.body, len(shop.Faults()))
			}
		}
	}
}

func TestSetFaultsCopies(t *testing.T) {
	f := Faults{PointPayment: {Kind: Kind500}}
	shop := NewShop(Options{Faults: f})
	defer shop.Close()
	f[PointHome] = Fault{Kind: KindHang}
	got := shop.Faults()
	got[PointCart] = Fault{Kind: KindMissing}
	if s := shop.Faults().String(); s != "payment=500" {
		t.Errorf("faults = %q, want payment=500: the shop shares its map", s)
	}
	shop.SetFaults(nil)
	if len(shop.Faults()) != 0 {
		t.Errorf("SetFaults(nil) left %v", shop.Faults())
	}
}

// TestRequestFaults checks 500, slow and flaky at a few points.
func TestRequestFaults(t *testing.T) {
	tests := []struct {
		name       string
		faults     string
		rand       float64
		req        func(v *visitor) answer
		wantStatus int
		wantText   string
	}{
		{"home 500", "home=500", 0, func(v *visitor) answer { return v.get("/") }, 500, "demo fault home=500"},
		{"search 500 leaves home", "search=500", 0, func(v *visitor) answer { return v.get("/") }, 200, "catalogue"},
		{"product 500", "product=500", 0, func(v *visitor) answer { return v.get("/product/tent") }, 500, "Something went wrong"},
		{"add-to-cart 500", "add-to-cart=500", 0, func(v *visitor) answer { return v.add("tent", 1) }, 500, `"error":"demo fault add-to-cart=500"`},
		{"login 500 keeps the form", "login=500", 0, func(v *visitor) answer { return v.get("/login") }, 200, "login-submit"},
		{"login 500 on submit", "login=500", 0, func(v *visitor) answer {
			return v.post("/login", url.Values{"email": {"ada@example.com"}, "password": {"lovelace"}})
		}, 500, "login=500"},
		{"payment 500", "payment=500", 0, func(v *visitor) answer { return buy(t, v) }, 500, "payment=500"},
		{"confirmation 500", "confirmation=500", 0, func(v *visitor) answer { return buy(t, v) }, 500, "confirmation=500"},
		{"flaky fails below P", "cart=flaky:0.5", 0.1, func(v *visitor) answer { return v.get("/cart") }, 500, "cart=flaky:0.5"},
		{"flaky passes above P", "cart=flaky:0.5", 0.9, func(v *visitor) answer { return v.get("/cart") }, 200, "cart-empty"},
		{"flaky 0 never fails", "home=flaky:0", 0, func(v *visitor) answer { return v.get("/") }, 200, "catalogue"},
		{"flaky api", "add-to-cart=flaky:1", 0.99, func(v *visitor) answer { return v.add("tent", 1) }, 500, "error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := ParseFaults(tt.faults)
			if err != nil {
				t.Fatal(err)
			}
			_, srv := startShop(t, Options{Faults: f, Rand: func() float64 { return tt.rand }})
			a := tt.req(newVisitor(t, srv))
			if a.status != tt.wantStatus || !strings.Contains(a.body, tt.wantText) {
				t.Errorf("status %d, want %d with %q:\n%s", a.status, tt.wantStatus, tt.wantText, a.body)
			}
		})
	}
}

func TestSlowFault(t *testing.T) {
	const delay = 50 * time.Millisecond
	_, srv := startShop(t, Options{Faults: Faults{PointSearch: {Kind: KindSlow, Delay: delay}, PointAddToCart: {Kind: KindSlow, Delay: delay}}})
	v := newVisitor(t, srv)
	for name, req := range map[string]func() answer{
		"search":      func() answer { return v.get("/search?q=tent") },
		"add-to-cart": func() answer { return v.add("tent", 1) },
	} {
		start := time.Now()
		a := req()
		if took := time.Since(start); took < delay || a.status != http.StatusOK {
			t.Errorf("%s: status %d after %v, want 200 after at least %v", name, a.status, took, delay)
		}
	}
}

// heldLog is a slog.Handler that closes held when the shop logs that it
// holds a request, so a test waits for that instead of guessing a delay.
type heldLog struct {
	once sync.Once
	held chan struct{}
}

func (h *heldLog) Enabled(context.Context, slog.Level) bool { return true }
func (h *heldLog) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "holding request") {
		h.once.Do(func() { close(h.held) })
	}
	return nil
}
func (h *heldLog) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *heldLog) WithGroup(string) slog.Handler      { return h }

func TestHangFault(t *testing.T) {
	t.Run("client goes away", func(t *testing.T) {
		shop := NewShop(Options{Faults: Faults{PointHome: {Kind: KindHang}}})
		defer shop.Close()
		returned := make(chan struct{}, 1)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			shop.ServeHTTP(w, r)
			returned <- struct{}{}
		}))
		defer srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/", nil)
		res, err := srv.Client().Do(req)
		if err == nil {
			res.Body.Close()
			t.Fatalf("a hanging page answered %d", res.StatusCode)
		}
		select {
		case <-returned:
		case <-time.After(5 * time.Second):
			t.Fatal("the handler still hangs 5s after the client went away")
		}
	})
	t.Run("shop closes", func(t *testing.T) {
		held := &heldLog{held: make(chan struct{})}
		shop, srv := startShop(t, Options{Faults: Faults{PointPayment: {Kind: KindHang}}, Logger: slog.New(held)})
		v := newVisitor(t, srv)
		v.add("tent", 1)
		v.post("/checkout", goodAddress())
		done := make(chan answer)
		go func() { done <- v.post("/payment", goodCard()) }()
		select {
		case a := <-done:
			t.Fatalf("a hanging payment answered %d", a.status)
		case <-held.held: // the shop says it holds the payment: close it now
		}
		shop.Close()
		if a := <-done; a.status != http.StatusServiceUnavailable {
			t.Errorf("after Close the payment answered %d, want 503", a.status)
		}
		if a := v.post("/payment", goodCard()); a.status != http.StatusServiceUnavailable {
			t.Errorf("a payment after Close answered %d, want 503 at once", a.status)
		}
	})
}

func TestPageFaults(t *testing.T) {
	tests := []struct {
		faults   string
		path     string
		gone     []string // hooks a missing fault removes
		kept     []string // hooks that stay
		contains string   // broken: the throwing script
	}{
		{"add-to-cart=missing", "/", []string{"add-backpack", "add-tent"}, []string{"product-backpack", "cart-badge"}, ""},
		{"add-to-cart=missing", "/product/tent", []string{"add-tent"}, []string{"quantity"}, ""},
		{"home=missing", "/", []string{"catalogue", "product-tent"}, []string{"restocking", "search-input"}, ""},
		{"search=missing", "/cart", []string{"search-input", "search-submit"}, []string{"cart-link"}, ""},
		{"product=missing", "/product/tent", []string{"quantity", "add-tent"}, []string{"product-name"}, ""},
		{"login=missing", "/login", []string{"login-submit"}, []string{"login-email"}, ""},
		{"cart=missing", "/cart", []string{"checkout"}, []string{"qty-tent", "cart-total"}, ""},
		{"checkout=missing", "/checkout", []string{"continue-to-payment"}, []string{"postcode"}, ""},
		{"payment=missing", "/payment", []string{"pay"}, []string{"card-number"}, ""},
		{"confirmation=missing", "/confirmation", []string{"order-id"}, []string{"order-complete"}, ""},
		{"add-to-cart=broken", "/", nil, []string{"add-backpack"}, `selector = "[data-add]", message = "demo fault add-to-cart=broken"`},
		{"payment=broken", "/payment", nil, []string{"pay"}, `selector = "[data-test=pay]"`},
		{"search=broken", "/", nil, []string{"search-submit"}, `selector = "[data-test=search-submit]"`},
		{"confirmation=broken", "/confirmation", nil, []string{"order-id"}, `selector = "", message = "demo fault confirmation=broken"`},
	}
	for _, tt := range tests {
		t.Run(tt.faults+" "+tt.path, func(t *testing.T) {
			_, srv := startShop(t, Options{})
			v := newVisitor(t, srv)
			v.add("tent", 1)
			path := tt.path
			if path == "/payment" {
				v.post("/checkout", goodAddress())
			}
			if path == "/confirmation" {
				path = buy(t, v).path
			}
			healthy := v.get(path)
			point, kind, _ := strings.Cut(tt.faults, "=")
			if a := v.send(http.MethodPut, "/__faults", "application/json", fmt.Sprintf(`{%q: %q}`, point, kind)); a.status != http.StatusOK {
				t.Fatalf("PUT /__faults: %d %s", a.status, a.body)
			}
			a := v.get(path)
			if a.status != http.StatusOK {
				t.Fatalf("status %d, want 200", a.status)
			}
			for _, h := range tt.gone {
				if !hasHook(healthy.body, h) || hasHook(a.body, h) {
					t.Errorf("data-test=%q: healthy %v, faulted %v; want true, false", h, hasHook(healthy.body, h), hasHook(a.body, h))
				}
			}
			for _, h := range tt.kept {
				if !hasHook(a.body, h) {
					t.Errorf("data-test=%q is gone, want it kept", h)
				}
			}
			if strings.Contains(healthy.body, "fault-broken") {
				t.Error("the healthy page has a broken-fault script")
			}
			if tt.contains != "" && (!strings.Contains(a.body, tt.contains) || !strings.Contains(a.body, "throw new Error(message)")) {
				t.Errorf("the page lacks the throwing script %q:\n%s", tt.contains, a.body)
			}
			if !hasHook(a.body, "active-faults") {
				t.Error("the footer does not show the faults in force")
			}
		})
	}
}

func TestBrokenConfirmationOnlyThrowsThere(t *testing.T) {
	_, srv := startShop(t, Options{Faults: Faults{PointConfirmation: {Kind: KindBroken}}})
	if a := newVisitor(t, srv).get("/"); strings.Contains(a.body, "fault-broken") {
		t.Error("a confirmation=broken fault throws on the home page too")
	}
}

func TestConcurrentAddsInOneSession(t *testing.T) {
	_, srv := startShop(t, Options{})
	v := newVisitor(t, srv)
	v.get("/") // get the session cookie first, so every add shares it
	const n = 20
	done := make(chan int, n)
	for range n {
		go func() {
			res, err := v.c.Post(srv.URL+"/api/cart", "application/json", strings.NewReader(`{"slug": "torch"}`))
			if err != nil {
				done <- 0
				return
			}
			res.Body.Close()
			done <- res.StatusCode
		}()
	}
	for range n {
		if code := <-done; code != http.StatusOK {
			t.Errorf("concurrent add answered %d", code)
		}
	}
	if got := badge(t, v.get("/").body); got != "20" {
		t.Errorf("badge after %d concurrent adds = %s", n, got)
	}
}

func TestIdleSessionsAreDropped(t *testing.T) {
	now := time.Date(2030, 1, 1, 9, 0, 0, 0, time.UTC)
	shop := NewShop(Options{Now: func() time.Time { return now }})
	defer shop.Close()
	visit := func(cookie string) string {
		req := httptest.NewRequest(http.MethodGet, "/cart", nil)
		if cookie != "" {
			req.AddCookie(&http.Cookie{Name: sessionCookie, Value: cookie})
		}
		rec := httptest.NewRecorder()
		shop.ServeHTTP(rec, req)
		for _, c := range rec.Result().Cookies() {
			return c.Value
		}
		return cookie
	}
	kept := visit("")
	for range sessionsKept {
		visit("")
	}
	now = now.Add(sessionIdle + time.Minute)
	visit(kept) // still in use
	visit("")   // a new visitor triggers the clean-up
	shop.mu.Lock()
	n := len(shop.sessions)
	_, ok := shop.sessions[kept]
	shop.mu.Unlock()
	if n != 2 || !ok {
		t.Errorf("after the clean-up: %d sessions, active one kept %v; want 2, true", n, ok)
	}
}
