package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/riverqueue/river"
	"github.com/spf13/cobra"

	"github.com/waymarkhq/waymark/reports/alert"
	"github.com/waymarkhq/waymark/results"
	"github.com/waymarkhq/waymark/results/store"
)

// incidentsFlags are the flags of `waymark incidents`.
type incidentsFlags struct {
	all      bool
	journey  string
	customer string
	database string
}

func (a *app) incidentsCmd() *cobra.Command {
	var f incidentsFlags
	c := &cobra.Command{
		Use:   "incidents",
		Short: "List incidents, open first; show, ack, note or resolve one",
		Long: `List the incidents, open ones first and newest first within each, one a
line: reference, state, severity, kind, journey (and location), when it
opened, how many runs failed and what failed. Without --all only open
(and acknowledged) incidents are listed. Times are local.

  waymark incidents show WM-12                   the timeline, the failing step, the ticket
  waymark incidents ack WM-12 --by dana [--note TEXT]
  waymark incidents note WM-12 --by dana --note TEXT
  waymark incidents resolve WM-12 --by dana --note "fixed the payment gateway"

ack, note and resolve are written to the timeline and told to the channels
of the levels the incident reached, as ` + "`waymark serve`" + ` delivers them.

Exit status: 0 done, 2 bad input: a bad flag or reference, an incident that
does not exist, a database that does not exist.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.listIncidents(cmd.Context(), f) },
	}
	c.PersistentFlags().StringVar(&f.database, "database", "", "database `FILE` to read (default: config database)")
	fl := c.Flags()
	fl.BoolVar(&f.all, "all", false, "list resolved incidents too")
	fl.StringVar(&f.journey, "journey", "", "only incidents of this `JOURNEY`")
	fl.StringVar(&f.customer, "customer", "", "only incidents of this `CUSTOMER`'s journeys")
	c.AddCommand(&cobra.Command{
		Use:   "show REF",
		Short: "Show an incident: its timeline, failing step, screenshot and ticket",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.showIncident(cmd.Context(), args[0], f.database)
		},
	})
	for _, act := range []struct{ use, short string }{
		{"ack", "Acknowledge an incident: escalation and reminders stop"},
		{"note", "Add a note to an incident's timeline"},
		{"resolve", "Resolve an incident by hand, with a reason"},
	} {
		var by, note string
		sub := &cobra.Command{
			Use:   act.use + " REF --by NAME",
			Short: act.short,
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return a.actOnIncident(cmd.Context(), act.use, args[0], by, note, f.database)
			},
		}
		sub.Flags().StringVar(&by, "by", "", "who acts (required)")
		sub.Flags().StringVar(&note, "note", "", "a note for the timeline (required for note; the reason for resolve)")
		c.AddCommand(sub)
	}
	return c
}

func (a *app) listIncidents(ctx context.Context, f incidentsFlags) error {
	st, _, err := a.openStoreToRead(ctx, f.database)
	if err != nil {
		return err
	}
	defer st.Close()
	list, err := st.Incidents(ctx, store.IncidentFilter{All: f.all, Journey: f.journey, Customer: f.customer})
	if err != nil {
		return err
	}
	return writeIncidents(a.stdout, list, time.Local)
}

// writeIncidents lists incidents one a line.
func writeIncidents(out io.Writer, list []*results.Incident, loc *time.Location) error {
	if len(list) == 0 {
		_, err := fmt.Fprintln(out, "no incidents")
		return err
	}
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "REF\tSTATE\tSEVERITY\tKIND\tJOURNEY\tOPENED\tFAILED\tWHAT FAILED")
	for _, i := range list {
		journey := i.Journey
		if i.Location != "" {
			journey += " @" + i.Location
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", i.Ref(), i.State, i.Severity, i.Kind, journey,
			i.OpenedAt.In(loc).Format("2006-01-02 15:04"), i.Failures, whatFailed(i))
	}
	return w.Flush()
}

// whatFailed is the step and cause that opened the incident, in one line.
func whatFailed(i *results.Incident) string {
	var s string
	if i.Step > 0 {
		s = fmt.Sprintf("step %d %q", i.Step, i.StepName)
	}
	if i.Cause != results.CauseNone {
		s = strings.TrimSpace(s + " (" + string(i.Cause) + ")")
	}
	if s == "" {
		s = oneLine(i.Error, 60)
	}
	return s
}

// oneLine is s on one line, at most n runes.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func (a *app) showIncident(ctx context.Context, ref, database string) error {
	id, err := results.ParseRef(ref)
	if err != nil {
		return badInput(err)
	}
	st, db, err := a.openStoreToRead(ctx, database)
	if err != nil {
		return err
	}
	defer st.Close()
	inc, err := st.Incident(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return badInput(fmt.Errorf("no incident %s in %s: `waymark incidents --all` lists them", ref, db))
	}
	if err != nil {
		return err
	}
	tl, err := st.Timeline(ctx, id)
	if err != nil {
		return err
	}
	var shot string
	if inc.FirstRun != "" {
		if run, err := st.Run(ctx, inc.FirstRun); err == nil {
			if s := run.DecidingStep(); s != nil {
				for _, art := range s.Artifacts {
					if art.Kind == results.ArtifactScreenshot {
						shot = fmt.Sprintf("waymark runs show %s (step %d screenshot, %s)", run.ID, s.Index, art.Hash[:min(12, len(art.Hash))])
					}
				}
			}
		}
	}
	return writeIncident(a.stdout, inc, tl, shot, time.Local)
}

// writeIncident shows one incident and its timeline.
func writeIncident(out io.Writer, i *results.Incident, tl []results.IncidentEvent, shot string, loc *time.Location) error {
	at := func(t time.Time) string { return t.In(loc).Format("2006-01-02 15:04:05") }
	fmt.Fprintf(out, "%s  %s %s incident, %s\n", i.Ref(), i.Severity, i.Kind, i.State)
	journey := i.Journey
	if i.Location != "" {
		journey += " in " + i.Location
	}
	fmt.Fprintf(out, "journey:   %s\n", journey)
	fmt.Fprintf(out, "opened:    %s (first failure %s)\n", at(i.OpenedAt), at(i.FirstFailureAt))
	if !i.AcknowledgedAt.IsZero() {
		fmt.Fprintf(out, "acked:     %s by %s\n", at(i.AcknowledgedAt), i.AcknowledgedBy)
	}
	if !i.ResolvedAt.IsZero() {
		by := "a passing run"
		if i.ResolvedBy != "" {
			by = i.ResolvedBy
		}
		fmt.Fprintf(out, "resolved:  %s by %s\n", at(i.ResolvedAt), by)
	}
	fmt.Fprintf(out, "failed:    %d runs, first %s, last %s\n", i.Failures, i.FirstRun, i.LastRun)
	if i.Step > 0 {
		fmt.Fprintf(out, "step:      %d %q (%s)\n", i.Step, i.StepName, i.Cause)
	}
	if i.Error != "" {
		fmt.Fprintf(out, "error:     %s\n", oneLine(i.Error, 200))
	}
	if shot != "" {
		fmt.Fprintf(out, "evidence:  %s\n", shot)
	}
	if i.TicketID != "" {
		fmt.Fprintf(out, "ticket:    %s\n", i.TicketID)
	}
	if i.Level > 0 {
		fmt.Fprintf(out, "level:     %d\n", i.Level)
	}
	fmt.Fprintln(out, "\ntimeline:")
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	for _, e := range tl {
		what := string(e.Kind)
		switch e.Kind {
		case results.EventFailedAgain:
			what = fmt.Sprintf("failed again ×%d (last run %s)", e.Count, e.RunID)
		case results.EventNotification:
			what = fmt.Sprintf("message to %s: %s", e.Channel, e.Delivery)
		}
		detail := oneLine(e.Detail, 120)
		if e.By != "" {
			detail = strings.TrimSpace("by " + e.By + ": " + detail)
		}
		fmt.Fprintf(w, "  %s\t%s\t%s\n", at(e.At), what, detail)
	}
	return w.Flush()
}

// actOnIncident acknowledges, notes or resolves an incident by hand; its
// messages are queued for `waymark serve` to deliver.
func (a *app) actOnIncident(ctx context.Context, act, ref, by, note, database string) error {
	id, err := results.ParseRef(ref)
	if err != nil {
		return badInput(err)
	}
	if strings.TrimSpace(by) == "" {
		return badInput(fmt.Errorf("--by: empty: say who %ss %s, like --by dana", act, ref))
	}
	if act == "note" && strings.TrimSpace(note) == "" {
		return badInput(errors.New("--note: empty: want the note's text"))
	}
	cfg, err := a.loadConfig()
	if err != nil {
		return badInput(err)
	}
	st, db, err := a.openStoreToRead(ctx, database)
	if err != nil {
		return err
	}
	defer st.Close()
	m, err := a.newAlerts(cfg, st, nil, a.logger(), nil, nil)
	if err != nil {
		return badInput(err)
	}
	// An insert-only client: serve's agents deliver what it queues.
	client, err := river.NewClient(st.RiverDriver(), &river.Config{})
	if err != nil {
		return fmt.Errorf("queue messages: %w", err)
	}
	m.SetClient(client)
	var inc *results.Incident
	switch act {
	case "ack":
		inc, err = m.Acknowledge(ctx, id, by, note)
	case "note":
		inc, err = m.Note(ctx, id, by, note)
	case "resolve":
		inc, err = m.Resolve(ctx, id, by, note)
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		return badInput(fmt.Errorf("no incident %s in %s: `waymark incidents --all` lists them", ref, db))
	case errors.Is(err, alert.ErrAlready):
		return badInput(err)
	case err != nil:
		return err
	}
	fmt.Fprintf(a.stdout, "%s %s by %s\n", inc.Ref(), map[string]string{"ack": "acknowledged", "note": "noted", "resolve": "resolved"}[act], by)
	return nil
}
