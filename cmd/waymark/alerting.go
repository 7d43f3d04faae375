package main

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/waymarkhq/waymark/cmd/waymark/config"
	"github.com/waymarkhq/waymark/journeys"
	"github.com/waymarkhq/waymark/journeys/catalog"
	"github.com/waymarkhq/waymark/reports/alert"
	"github.com/waymarkhq/waymark/reports/notify"
	"github.com/waymarkhq/waymark/results"
	"github.com/waymarkhq/waymark/results/store"
)

// The config refuses channel timeouts longer than the deliveries allow: a
// compile error (a negative array length) if it would take more.
var _ [alert.MaxChannelTimeout - config.MaxChannelTimeout]struct{}

// newAlerts is the incident manager of the config: its channels (secrets
// from the environment), routes, alert policy and forecast. cat holds the
// journeys served, looked up by name and forecast daily (nil: journeys are
// known by name only, and none is forecast).
//
// rerun, when set, runs a journey again at once after a remediation;
// extra are channels besides the config's (the demo's terminal).
func (a *app) newAlerts(cfg *config.Config, st *store.Store, cat *catalog.Catalog, log *slog.Logger,
	rerun func(ctx context.Context, journey, location string) error, extra map[string]notify.Channel) (*alert.Manager, error) {
	channels := maps.Clone(extra)
	if channels == nil {
		channels = map[string]notify.Channel{}
	}
	remedies := map[string]alert.Remedy{}
	for _, name := range slices.Sorted(maps.Keys(cfg.Channels)) {
		ch, err := cfg.Channels[name].Expanded(name, a.getenv)
		if err != nil {
			return nil, err
		}
		made, err := newChannel(ch)
		if err != nil {
			return nil, fmt.Errorf("channels.%s: %w", name, err)
		}
		channels[name] = made
		if ch.Type == config.ChannelAction {
			remedies[name] = alert.Remedy{After: ch.After, MaxCalls: ch.MaxCalls}
		}
	}
	routes := make([]alert.Route, len(cfg.Routes))
	for i, r := range cfg.Routes {
		m := r.Match
		routes[i] = alert.Route{
			Match: alert.Match{Journey: m.Journey, Owner: m.Owner, Customer: m.Customer, Tag: m.Tag, Location: m.Location,
				Severity: results.Severity(m.Severity), Kind: results.IncidentKind(m.Kind)},
			Continue: r.Continue, RemindEvery: r.RemindEvery,
		}
		if len(r.To) > 0 {
			routes[i].Levels = []alert.Level{{To: r.To}}
		}
		for _, l := range r.Escalate {
			routes[i].Levels = append(routes[i].Levels, alert.Level{After: time.Duration(l.After), To: l.To})
		}
	}
	windows := cfg.MaintenanceWindows()
	var lookup func(string) (*journeys.Journey, bool)
	var list func() []*journeys.Journey
	if cat != nil {
		lookup = cat.Journey
		list = func() []*journeys.Journey { return cat.Snapshot().Journeys }
	}
	return alert.New(alert.Options{
		Store:     st,
		Routes:    routes,
		Channels:  channels,
		Remedies:  remedies,
		Policy:    func(j *journeys.Journey) alert.Policy { return policy(cfg.Alert, j) },
		Journey:   lookup,
		Journeys:  list,
		Forecast:  alert.ForecastOptions{Enabled: cfg.Forecast.Enabled, Window: cfg.Forecast.Window, Horizon: cfg.Forecast.Horizon},
		Rerun:     rerun,
		PublicURL: cfg.Server.PublicURL,
		InMaintenance: func(ctx context.Context, j *journeys.Journey, at time.Time) (bool, error) {
			w, err := maintenanceAt(ctx, windows, st, j, at)
			return w != "", err
		},
		Logger: log,
	}), nil
}

// maintenanceAt names the maintenance window the journey is in at a
// time (its label), or is empty.
func maintenanceAt(ctx context.Context, windows []results.Maintenance, st *store.Store, j *journeys.Journey, at time.Time) (string, error) {
	if j == nil {
		return "", nil
	}
	active, err := activeWindows(ctx, windows, st, at)
	if err != nil {
		return "", fmt.Errorf("read maintenance windows: %w", err)
	}
	if w, ok := results.InMaintenance(active, j.Name, j.Customer, j.Tags, at); ok {
		return w.Label(), nil
	}
	return "", nil
}

// policy is the journey's incident policy: its own `alert:` over the
// config's.
func policy(c config.Alert, j *journeys.Journey) alert.Policy {
	p := alert.Policy{
		AlertPolicy: results.AlertPolicy{After: c.After, ResolveAfter: c.ResolveAfter, DegradedAfter: c.DegradedAfter},
		Locations:   c.Locations,
		PerLocation: c.PerLocation,
		RemindEvery: c.RemindEvery,
		Recheck:     c.Recheck,
	}
	if j == nil {
		return p
	}
	a := j.Alert
	for _, o := range []struct {
		v   int
		dst *int
	}{{a.After, &p.After}, {a.ResolveAfter, &p.ResolveAfter}, {a.DegradedAfter, &p.DegradedAfter},
		{a.Failures, &p.Failures}, {a.Within, &p.Within}, {a.Locations, &p.Locations}} {
		if o.v > 0 {
			*o.dst = o.v
		}
	}
	if a.PerLocation != nil {
		p.PerLocation = *a.PerLocation
	}
	if p.PerLocation && a.Locations == 0 {
		p.Locations = 0 // the config's quorum is for journeys alerting as one
	}
	if a.Severity != "" {
		p.Severity = results.Severity(a.Severity)
	}
	if a.RemindEvery > 0 {
		p.RemindEvery = a.RemindEvery
	}
	if a.Recheck > 0 {
		p.Recheck = a.Recheck
	}
	return p
}

// newChannel makes the notify channel of a configured one.
func newChannel(c config.Channel) (notify.Channel, error) {
	switch c.Type {
	case config.ChannelWebhook:
		return notify.NewWebhook(notify.WebhookSettings{URL: c.URL, Secret: c.Secret, Headers: c.Headers, Timeout: c.Timeout})
	case config.ChannelSlack:
		return notify.NewSlack(notify.SlackSettings{URL: c.URL, Timeout: c.Timeout})
	case config.ChannelEmail:
		return notify.NewEmail(notify.EmailSettings{Server: c.SMTP, From: c.From, To: c.To, TLS: c.TLS, Auth: c.Auth,
			Username: c.Username, Password: c.Password, CAFile: c.CAFile, Timeout: c.Timeout})
	case config.ChannelPagerDuty:
		return notify.NewPagerDuty(notify.PagerDutySettings{RoutingKey: c.RoutingKey, URL: c.URL, Timeout: c.Timeout})
	case config.ChannelAction:
		return notify.NewAction(notify.ActionSettings{Method: c.Method, URL: c.URL, Headers: c.Headers, Body: c.Body,
			Secret: c.Secret, Timeout: c.Timeout})
	}
	return nil, fmt.Errorf("unknown channel type %q", c.Type)
}
