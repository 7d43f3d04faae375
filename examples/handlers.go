package examples

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"time"
)

func (s *Shop) routes() {
	static, _ := fs.Sub(webFS, "web/static") // the directory is embedded: Sub cannot fail
	m := s.mux
	m.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	m.Handle("GET /favicon.ico", http.RedirectHandler("/static/favicon.svg", http.StatusMovedPermanently))
	m.HandleFunc("GET /{$}", s.guard(PointHome, s.home))
	m.HandleFunc("GET /search", s.guard(PointSearch, s.search))
	m.HandleFunc("GET /product/{slug}", s.guard(PointProduct, s.product))
	m.HandleFunc("GET /login", s.loginPage)
	m.HandleFunc("POST /login", s.guard(PointLogin, s.login))
	m.HandleFunc("POST /logout", s.logout)
	m.HandleFunc("GET /api/cart", s.apiCart)
	m.HandleFunc("POST /api/cart", s.guard(PointAddToCart, s.apiAdd))
	m.HandleFunc("GET /cart", s.guard(PointCart, s.cart))
	m.HandleFunc("POST /cart/update", s.guard(PointCart, s.cartUpdate))
	m.HandleFunc("POST /cart/remove", s.guard(PointCart, s.cartUpdate))
	m.HandleFunc("POST /cart/empty", s.guard(PointCart, s.cartEmpty))
	m.HandleFunc("GET /checkout", s.checkoutPage)
	m.HandleFunc("POST /checkout", s.guard(PointCheckout, s.checkout))
	m.HandleFunc("GET /payment", s.paymentPage)
	m.HandleFunc("POST /payment", s.guard(PointPayment, s.payment))
	m.HandleFunc("GET /confirmation/{order}", s.guard(PointConfirmation, s.confirmation))
	m.HandleFunc("GET /__faults", s.getFaults)
	m.HandleFunc("PUT /__faults", s.putFaults)
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.errorPage(w, r, http.StatusNotFound, "We could not find "+r.URL.Path+".")
	})
}

// guard applies the point's request faults (500, slow, hang, flaky) before
// the handler; broken and missing are the templates' business.
func (s *Shop) guard(p Point, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f, on := s.Faults()[p]
		if !on || s.inject(w, r, p, f) {
			next(w, r)
		}
	}
}

// inject acts out fault f at point p and reports whether the request should
// go on to its handler.
func (s *Shop) inject(w http.ResponseWriter, r *http.Request, p Point, f Fault) bool {
	switch f.Kind {
	case Kind500:
	case KindFlaky:
		if s.random() >= f.P {
			return true
		}
	case KindSlow, KindHang:
		var done <-chan time.Time // nil for hang: never fires
		if f.Kind == KindSlow {
			t := time.NewTimer(f.Delay)
			defer t.Stop()
			done = t.C
		}
		s.log.Info("demo fault: holding request", "point", p, "fault", f, "path", r.URL.Path)
		select {
		case <-done:
			return true
		case <-r.Context().Done():
			return false
		case <-s.closed:
			http.Error(w, "the demo shop is shutting down", http.StatusServiceUnavailable)
			return false
		}
	default: // broken and missing change the page, not the request
		return true
	}
	s.log.Info("demo fault: answering 500", "point", p, "fault", f, "path", r.URL.Path)
	msg := fmt.Sprintf("demo fault %s=%s", p, f)
	if strings.HasPrefix(r.URL.Path, "/api/") {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": msg})
	} else {
		s.errorPage(w, r, http.StatusInternalServerError, "Something went wrong on our side ("+msg+").")
	}
	return false
}

// page is what every template's layout needs.
type page struct {
	Title       string
	Point       Point  // the page's own fault point, "" for none
	User        string // signed-in name, "" for a guest
	CartCount   int
	CartVersion int
	Query       string
	faults      Faults
}

// Missing reports whether a missing fault removes the point's element.
func (p page) Missing(pt Point) bool { return p.faults[pt].Kind == KindMissing }

// FaultSpec shows the faults in force in the footer, so demo users see why
// the shop misbehaves.
func (p page) FaultSpec() string { return p.faults.String() }

// brokenHook is a script that makes a control throw when used.
type brokenHook struct {
	Selector string // clicks on elements matching it throw; "" throws at load
	Message  string
}

// BrokenHooks returns the throwing scripts of the broken faults in force.
func (p page) BrokenHooks() []brokenHook {
	var hooks []brokenHook
	for _, pt := range Points() {
		if p.faults[pt].Kind != KindBroken {
			continue
		}
		sel := brokenSelector(pt)
		if sel == "" && pt != p.Point {
			continue
		}
		hooks = append(hooks, brokenHook{sel, fmt.Sprintf("demo fault %s=broken", pt)})
	}
	return hooks
}

// brokenSelector is the control a broken fault at p breaks; "" means the
// page itself throws while loading.
func brokenSelector(p Point) string {
	return map[Point]string{
		PointHome:      "#home-grid a, #home-grid button",
		PointSearch:    "[data-test=search-submit]",
		PointProduct:   "#product-detail [data-add]",
		PointLogin:     "[data-test=login-submit]",
		PointAddToCart: "[data-add]",
		PointCart:      "[data-test=checkout]",
		PointCheckout:  "[data-test=continue-to-payment]",
		PointPayment:   "[data-test=pay]",
	}[p]
}

// base fills the layout's data from the session; the caller holds s.mu.
func (s *Shop) base(sess *session, r *http.Request, title string, pt Point) page {
	p := page{Title: title, Point: pt, CartCount: sess.count(), CartVersion: sess.version,
		Query: r.URL.Query().Get("q"), faults: s.faults.clone()}
	if sess.user != nil {
		p.User = sess.user.Name
	}
	return p
}

func (s *Shop) render(w http.ResponseWriter, status int, name string, data any) {
	var buf bytes.Buffer
	if err := s.pages[name].ExecuteTemplate(&buf, "layout", data); err != nil {
		s.log.Error("render page", "page", name, "err", err)
		http.Error(w, fmt.Sprintf("render page %s: %v", name, err), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// parsePages parses each page's template with the shared layout. The
// templates are embedded, so a parse error is a bug the tests catch.
func parsePages() map[string]*template.Template {
	pages := map[string]*template.Template{}
	for _, name := range []string{"home", "search", "product", "login", "cart", "checkout", "payment", "confirmation", "error"} {
		pages[name] = template.Must(template.New(name).ParseFS(webFS,
			"web/templates/layout.html", "web/templates/"+name+".html"))
	}
	return pages
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Shop) errorPage(w http.ResponseWriter, r *http.Request, status int, msg string) {
	var data any
	s.withSession(w, r, func(sess *session) {
		data = struct {
			page
			Status  int
			Message string
		}{s.base(sess, r, http.StatusText(status), ""), status, msg}
	})
	s.render(w, status, "error", data)
}

func (s *Shop) home(w http.ResponseWriter, r *http.Request) {
	var data any
	s.withSession(w, r, func(sess *session) {
		data = struct {
			page
			Products []Product
		}{s.base(sess, r, "Outdoor gear for every trail", PointHome), Catalogue()}
	})
	s.render(w, http.StatusOK, "home", data)
}

func (s *Shop) search(w http.ResponseWriter, r *http.Request) {
	var data any
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	s.withSession(w, r, func(sess *session) {
		data = struct {
			page
			Products []Product
		}{s.base(sess, r, "Search: "+q, PointSearch), searchProducts(q)}
	})
	s.render(w, http.StatusOK, "search", data)
}

func (s *Shop) product(w http.ResponseWriter, r *http.Request) {
	p, ok := findProduct(r.PathValue("slug"))
	if !ok {
		s.errorPage(w, r, http.StatusNotFound, "We do not sell "+r.PathValue("slug")+".")
		return
	}
	var data any
	s.withSession(w, r, func(sess *session) {
		data = struct {
			page
			Product Product
			InCart  int
		}{s.base(sess, r, p.Name, PointProduct), p, sess.qty(p.Slug)}
	})
	s.render(w, http.StatusOK, "product", data)
}

// formErrorStatus is the status of a form shown again with its errors. It
// is 200, as most shops answer, not 401 or 422: Waymark fails a click that
// loads a page answering 400 or more, and journeys that check validation
// messages must be able to reach them.
const formErrorStatus = http.StatusOK

type loginData struct {
	page
	Email, Next, Error string
}

func (s *Shop) loginPage(w http.ResponseWriter, r *http.Request) {
	var data loginData
	s.withSession(w, r, func(sess *session) {
		data = loginData{page: s.base(sess, r, "Sign in", PointLogin), Next: localPath(r.URL.Query().Get("next"))}
	})
	s.render(w, http.StatusOK, "login", data)
}

func (s *Shop) login(w http.ResponseWriter, r *http.Request) {
	email := strings.ToLower(strings.TrimSpace(r.PostFormValue("email")))
	next := localPath(r.PostFormValue("next"))
	var data loginData
	ok := false
	s.withSession(w, r, func(sess *session) {
		for _, a := range accounts() {
			if a.Email == email && a.Password == r.PostFormValue("password") {
				sess.user, ok = &a, true
			}
		}
		data = loginData{s.base(sess, r, "Sign in", PointLogin), email, next,
			"That email and password do not match. Try ada@example.com / lovelace."}
	})
	if !ok {
		s.render(w, formErrorStatus, "login", data)
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// localPath keeps a redirect target on this site; anything else goes home.
func localPath(p string) string {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") {
		return "/"
	}
	return p
}

func (s *Shop) logout(w http.ResponseWriter, r *http.Request) {
	s.withSession(w, r, func(sess *session) { sess.user, sess.address = nil, nil })
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// cartJSON is the cart API's answer. Version orders answers that arrive
// out of order: the page keeps the badge of the highest version.
type cartJSON struct {
	Count   int        `json:"count"`
	Version int        `json:"version"`
	Total   string     `json:"total"`
	Lines   []lineJSON `json:"lines"`
	Added   string     `json:"added,omitempty"` // name of the product just added
}

type lineJSON struct {
	Slug  string `json:"slug"`
	Name  string `json:"name"`
	Qty   int    `json:"quantity"`
	Total string `json:"total"`
}

func cartAnswer(sess *session) cartJSON {
	lines, total := sess.lines()
	c := cartJSON{Count: sess.count(), Version: sess.version, Total: money(total), Lines: []lineJSON{}}
	for _, l := range lines {
		c.Lines = append(c.Lines, lineJSON{l.Product.Slug, l.Product.Name, l.Qty, l.Total()})
	}
	return c
}

func (s *Shop) apiCart(w http.ResponseWriter, r *http.Request) {
	var c cartJSON
	s.withSession(w, r, func(sess *session) { c = cartAnswer(sess) })
	writeJSON(w, http.StatusOK, c)
}

func (s *Shop) apiAdd(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Slug     string `json:"slug"`
		Quantity int    `json:"quantity"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&in); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{
			"error": `POST /api/cart: body must be JSON like {"slug": "backpack", "quantity": 1}: ` + err.Error()})
		return
	}
	p, ok := findProduct(in.Slug)
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": fmt.Sprintf("POST /api/cart: no product %q", in.Slug)})
		return
	}
	if in.Quantity == 0 {
		in.Quantity = 1
	}
	if in.Quantity < 1 || in.Quantity > maxQty {
		writeJSON(w, http.StatusBadRequest, map[string]string{
			"error": fmt.Sprintf("POST /api/cart: quantity must be 1 to %d, got %d", maxQty, in.Quantity)})
		return
	}
	var c cartJSON
	s.withSession(w, r, func(sess *session) {
		sess.setQty(p.Slug, sess.qty(p.Slug)+in.Quantity)
		c = cartAnswer(sess)
	})
	c.Added = p.Name
	writeJSON(w, http.StatusOK, c)
}

func (s *Shop) cart(w http.ResponseWriter, r *http.Request) {
	var data any
	s.withSession(w, r, func(sess *session) {
		lines, total := sess.lines()
		data = struct {
			page
			Lines []lineView
			Total string
		}{s.base(sess, r, "Your cart", PointCart), lines, money(total)}
	})
	s.render(w, http.StatusOK, "cart", data)
}

// cartUpdate sets a line's quantity (POST /cart/update) or removes the line
// (POST /cart/remove, or quantity 0).
func (s *Shop) cartUpdate(w http.ResponseWriter, r *http.Request) {
	qty, err := strconv.Atoi(strings.TrimSpace(r.PostFormValue("quantity")))
	if strings.HasSuffix(r.URL.Path, "/remove") {
		qty, err = 0, nil
	}
	if err != nil {
		s.errorPage(w, r, http.StatusBadRequest, "The quantity must be a whole number.")
		return
	}
	if _, ok := findProduct(r.PostFormValue("slug")); ok {
		s.withSession(w, r, func(sess *session) { sess.setQty(r.PostFormValue("slug"), qty) })
	}
	http.Redirect(w, r, "/cart", http.StatusSeeOther)
}

func (s *Shop) cartEmpty(w http.ResponseWriter, r *http.Request) {
	s.withSession(w, r, func(sess *session) { sess.cart, sess.version = nil, sess.version+1 })
	http.Redirect(w, r, "/cart", http.StatusSeeOther)
}

type checkoutData struct {
	page
	Address      Address
	Errors       map[string]string
	Countries    []Country
	EmailPattern string
	Lines        []lineView
	Total        string
}

// checkoutView builds the checkout page; ok is false when the cart is empty.
func (s *Shop) checkoutView(sess *session, r *http.Request, a Address, errs map[string]string) (checkoutData, bool) {
	lines, total := sess.lines()
	return checkoutData{s.base(sess, r, "Checkout", PointCheckout), a, errs, Countries(),
		emailPattern, lines, money(total)}, len(lines) > 0
}

func (s *Shop) checkoutPage(w http.ResponseWriter, r *http.Request) {
	var data checkoutData
	ok := false
	s.withSession(w, r, func(sess *session) {
		a := Address{Country: "GB"}
		switch {
		case sess.address != nil:
			a = *sess.address
		case sess.user != nil:
			a.Name, a.Email = sess.user.Name, sess.user.Email
		}
		data, ok = s.checkoutView(sess, r, a, nil)
	})
	if !ok {
		http.Redirect(w, r, "/cart", http.StatusSeeOther)
		return
	}
	s.render(w, http.StatusOK, "checkout", data)
}

func (s *Shop) checkout(w http.ResponseWriter, r *http.Request) {
	a := addressFromForm(r.PostFormValue)
	errs := a.validate()
	var data checkoutData
	ok := false
	s.withSession(w, r, func(sess *session) {
		if len(errs) == 0 {
			sess.address = &a
		}
		data, ok = s.checkoutView(sess, r, a, errs)
	})
	switch {
	case !ok:
		http.Redirect(w, r, "/cart", http.StatusSeeOther)
	case len(errs) > 0:
		s.render(w, formErrorStatus, "checkout", data)
	default:
		http.Redirect(w, r, "/payment", http.StatusSeeOther)
	}
}

type paymentData struct {
	page
	Address  Address
	Card     Card
	Errors   map[string]string
	Lines    []lineView
	Total    string
	TestCard string
}

// paymentView builds the payment page, or names where to go first.
func (s *Shop) paymentView(sess *session, r *http.Request, c Card, errs map[string]string) (paymentData, string) {
	lines, total := sess.lines()
	switch {
	case len(lines) == 0:
		return paymentData{}, "/cart"
	case sess.address == nil:
		return paymentData{}, "/checkout"
	}
	return paymentData{s.base(sess, r, "Payment", PointPayment), *sess.address, c, errs, lines,
		money(total), TestCard}, ""
}

func (s *Shop) paymentPage(w http.ResponseWriter, r *http.Request) {
	var data paymentData
	var redirect string
	s.withSession(w, r, func(sess *session) { data, redirect = s.paymentView(sess, r, Card{}, nil) })
	if redirect != "" {
		http.Redirect(w, r, redirect, http.StatusSeeOther)
		return
	}
	s.render(w, http.StatusOK, "payment", data)
}

func (s *Shop) payment(w http.ResponseWriter, r *http.Request) {
	card := Card{Number: r.PostFormValue("card-number"), Expiry: r.PostFormValue("card-expiry"),
		CVC: r.PostFormValue("card-cvc")}
	errs := card.validate(s.now())
	var data paymentData
	var redirect string
	s.withSession(w, r, func(sess *session) {
		data, redirect = s.paymentView(sess, r, card, errs)
		if redirect != "" || len(errs) > 0 {
			return
		}
		lines, total := sess.lines()
		o := order{ID: fmt.Sprintf("WM-%d", s.nextOrder), Lines: lines, Pence: total, Address: *sess.address}
		s.nextOrder++
		sess.orders[o.ID] = o
		sess.cart, sess.version, sess.address = nil, sess.version+1, nil
		redirect = "/confirmation/" + o.ID
	})
	if redirect == "" {
		data.Card.Number = "" // never echo a card number back
		s.render(w, formErrorStatus, "payment", data)
		return
	}
	http.Redirect(w, r, redirect, http.StatusSeeOther)
}

func (s *Shop) confirmation(w http.ResponseWriter, r *http.Request) {
	var data any
	found := false
	s.withSession(w, r, func(sess *session) {
		o, ok := sess.orders[r.PathValue("order")]
		found = ok
		data = struct {
			page
			Order order
			Total string
		}{s.base(sess, r, "Thank you for your order", PointConfirmation), o, money(o.Pence)}
	})
	if !found {
		s.errorPage(w, r, http.StatusNotFound, "We could not find order "+r.PathValue("order")+" in this session.")
		return
	}
	s.render(w, http.StatusOK, "confirmation", data)
}

func (s *Shop) getFaults(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, faultsJSON(s.Faults()))
}

// putFaults merges a JSON object of point → fault into the faults in force:
// "" removes a point's fault and {} clears them all.
func (s *Shop) putFaults(w http.ResponseWriter, r *http.Request) {
	var in map[string]string
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16))
	err := dec.Decode(&in)
	if err == nil && in == nil {
		err = fmt.Errorf("got null")
	}
	if err == nil && dec.More() {
		err = fmt.Errorf("unexpected data after the object")
	}
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": `PUT /__faults: body must be a JSON object of point → fault, e.g. {"payment": "500", "search": "slow:2s"}: ` + err.Error()})
		return
	}
	set := Faults{}
	var removed []Point
	for name, spec := range in {
		p, err := ParsePoint(name)
		if err == nil && spec != "" {
			set[p], err = ParseFault(spec)
		}
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "PUT /__faults: " + err.Error()})
			return
		}
		if spec == "" {
			removed = append(removed, p)
		}
	}
	s.mu.Lock()
	if len(in) == 0 {
		s.faults = Faults{}
	}
	maps.Copy(s.faults, set)
	for _, p := range removed {
		delete(s.faults, p)
	}
	next := s.faults.clone()
	s.mu.Unlock()
	s.log.Info("demo faults set", "faults", next.String())
	writeJSON(w, http.StatusOK, faultsJSON(next))
}

func faultsJSON(f Faults) map[string]string {
	out := map[string]string{}
	for p, fault := range f {
		out[string(p)] = fault.String()
	}
	return out
}
