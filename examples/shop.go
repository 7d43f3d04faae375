package examples

import (
	"crypto/rand"
	"embed"
	"encoding/hex"
	"html/template"
	"log/slog"
	randv2 "math/rand/v2"
	"net/http"
	"sync"
	"time"
)

//go:embed web
var webFS embed.FS

// Options configure a Shop. The zero value is a healthy shop with a private
// random source, the wall clock and no logs.
type Options struct {
	// Faults are injected from the start; SetFaults and PUT /__faults
	// change them later.
	Faults Faults
	// Rand returns numbers in [0,1) for flaky faults; nil uses a private
	// source seeded from the clock. It is called under the shop's lock, so
	// it need not be safe for concurrent use.
	Rand func() float64
	// Now is the clock for card expiry and session expiry; nil uses
	// time.Now.
	Now func() time.Time
	// Logger receives a line per injected fault; nil discards logs.
	Logger *slog.Logger
}

// Shop is the demo shop: an http.Handler with an in-memory catalogue,
// per-visitor carts and orders, and switchable faults. It is safe for
// concurrent use. Create it with NewShop and call Close when the server
// shuts down, so requests held by a hang fault return.
type Shop struct {
	mux       *http.ServeMux
	pages     map[string]*template.Template
	log       *slog.Logger
	now       func() time.Time
	closed    chan struct{}
	closeOnce sync.Once

	mu        sync.Mutex // guards everything below
	rand      func() float64
	faults    Faults
	sessions  map[string]*session
	nextOrder int
}

// NewShop builds a shop ready to serve.
func NewShop(opts Options) *Shop {
	s := &Shop{
		mux:       http.NewServeMux(),
		pages:     parsePages(),
		log:       opts.Logger,
		now:       opts.Now,
		closed:    make(chan struct{}),
		rand:      opts.Rand,
		faults:    opts.Faults.clone(),
		sessions:  map[string]*session{},
		nextOrder: 100001,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.rand == nil {
		seed := uint64(time.Now().UnixNano())
		s.rand = randv2.New(randv2.NewPCG(seed, seed>>7)).Float64
	}
	s.routes()
	return s
}

// ServeHTTP serves the shop's pages, its cart API, its static files and the
// fault switch at /__faults.
func (s *Shop) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// SetFaults replaces all faults; nil or empty heals the shop.
func (s *Shop) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = f.clone()
}

// Faults returns a copy of the faults in force.
func (s *Shop) Faults() Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults.clone()
}

// Close releases every request held by a hang or slow fault (they answer
// 503) and makes later ones return at once. The shop still serves healthy
// requests after Close; it is meant to be called as the server shuts down.
func (s *Shop) Close() { s.closeOnce.Do(func() { close(s.closed) }) }

// random draws a number for a flaky fault.
func (s *Shop) random() float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rand()
}

// account is a demo shopper who can sign in.
type account struct{ Email, Password, Name string }

func accounts() []account {
	return []account{
		{"ada@example.com", "lovelace", "Ada Lovelace"},
		{"grace@example.com", "hopper", "Grace Hopper"},
	}
}

// session is one visitor's state, found by the session cookie.
type session struct {
	user    *account
	cart    []cartLine // in the order items were first added
	version int        // bumped on every cart change; lets the page order API answers
	address *Address   // set once the checkout form passed validation
	orders  map[string]order
	seen    time.Time
}

type cartLine struct {
	Slug string
	Qty  int
}

// order is a placed order, kept for its confirmation page.
type order struct {
	ID      string
	Lines   []lineView
	Pence   int
	Address Address
}

const (
	sessionCookie = "shop_session"
	sessionIdle   = 6 * time.Hour // sessions idle this long are dropped…
	sessionsKept  = 1000          // …once there are more than this many
	maxQty        = 99
)

// withSession runs fn under the shop's lock with the request's session,
// creating the session (and its cookie) when the visitor has none.
func (s *Shop) withSession(w http.ResponseWriter, r *http.Request, fn func(*session)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	var sess *session
	if c, err := r.Cookie(sessionCookie); err == nil {
		sess = s.sessions[c.Value]
	}
	if sess == nil {
		if len(s.sessions) >= sessionsKept {
			for id, old := range s.sessions {
				if now.Sub(old.seen) > sessionIdle {
					delete(s.sessions, id)
				}
			}
		}
		id := newSessionID()
		sess = &session{orders: map[string]order{}}
		s.sessions[id] = sess
		http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/",
			HttpOnly: true, SameSite: http.SameSiteLaxMode})
	}
	sess.seen = now
	fn(sess)
}

func newSessionID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}

// count is the number of items in the cart, as the badge shows it.
func (sess *session) count() int {
	n := 0
	for _, l := range sess.cart {
		n += l.Qty
	}
	return n
}

// setQty sets a line's quantity, adding or removing the line as needed.
func (sess *session) setQty(slug string, qty int) {
	qty = min(max(qty, 0), maxQty)
	sess.version++
	for i, l := range sess.cart {
		if l.Slug == slug {
			if qty == 0 {
				sess.cart = append(sess.cart[:i], sess.cart[i+1:]...)
			} else {
				sess.cart[i].Qty = qty
			}
			return
		}
	}
	if qty > 0 {
		sess.cart = append(sess.cart, cartLine{slug, qty})
	}
}

func (sess *session) qty(slug string) int {
	for _, l := range sess.cart {
		if l.Slug == slug {
			return l.Qty
		}
	}
	return 0
}

// lineView is a cart line ready to show.
type lineView struct {
	Product Product
	Qty     int
	Pence   int
}

// Total formats the line's amount.
func (l lineView) Total() string { return money(l.Pence) }

// lines returns the cart's lines with prices and the total in pence.
func (sess *session) lines() ([]lineView, int) {
	var out []lineView
	total := 0
	for _, l := range sess.cart {
		if p, ok := findProduct(l.Slug); ok {
			out = append(out, lineView{p, l.Qty, p.Pence * l.Qty})
			total += p.Pence * l.Qty
		}
	}
	return out, total
}
