package web

import (
	"context"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"time"

	"github.com/waymarkhq/waymark/journeys"
	"github.com/waymarkhq/waymark/reports"
	"github.com/waymarkhq/waymark/results"
	"github.com/waymarkhq/waymark/results/store"
)

// Dashboard is what the dashboard's pages and its JSON API read and do.
// Only Store is required: without the others the dashboard reads, and the
// actions they stand for answer 501.
type Dashboard struct {
	// Store holds the journeys, runs, incidents and aggregates shown.
	Store *store.Store
	// Incidents acknowledges, annotates and resolves incidents, notifying
	// their routes as the CLI does.
	Incidents Incidents
	// RunNow queues a run of the journey at once in each of its locations.
	RunNow func(ctx context.Context, journey string) error
	// Status reads what `waymark status` prints: agents, leader, queues,
	// missed slots, journeys whose files fail to load.
	Status func(ctx context.Context) (reports.StatusView, error)
	// Windows are the maintenance windows of waymark.yaml (the store holds
	// those made on the spot).
	Windows []results.Maintenance
	// Journey is the loaded journey of a name, for its thresholds and the
	// lines of its steps; nil or not found: the stored definition only.
	Journey func(name string) (*journeys.Journey, bool)
	// Token, when set, is the bearer token of the API and the password of
	// the login form; empty leaves the dashboard open (a loopback bind).
	Token string
	// SecureCookie marks the login cookie Secure: the dashboard is reached
	// over HTTPS (server.public_url is https).
	SecureCookie bool
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// Logger receives what goes wrong while serving; nil discards.
	Logger *slog.Logger
}

// ErrNotFound is what a Dashboard function returns, wrapped, for a
// journey, run or incident it does not know: the API answers 404.
var ErrNotFound = errors.New("not found")

// Incidents is what people do to incidents from the dashboard and the
// API (the alert Manager does it).
type Incidents interface {
	Acknowledge(ctx context.Context, id int64, by, note string) (*results.Incident, error)
	Note(ctx context.Context, id int64, by, note string) (*results.Incident, error)
	Resolve(ctx context.Context, id int64, by, reason string) (*results.Incident, error)
}

// dash serves the dashboard and the API from a Dashboard.
type dash struct {
	Dashboard
	log    *slog.Logger
	pages  *template.Template
	totals totalsCache
}

func newDash(d *Dashboard) *dash {
	if d.Now == nil {
		d.Now = time.Now
	}
	log := d.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &dash{Dashboard: *d, log: log}
}

// register adds the dashboard's pages, the API and the login to mux.
func (d *dash) register(mux *http.ServeMux) {
	d.registerPages(mux)
	d.registerAPI(mux)
	d.registerLogin(mux)
}
