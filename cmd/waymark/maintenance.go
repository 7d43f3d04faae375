package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/spf13/cobra"

	"github.com/waymarkhq/waymark/reports"
	"github.com/waymarkhq/waymark/results"
	"github.com/waymarkhq/waymark/results/store"
)

// defaultMaintenanceRecent is how long `waymark maintenance` keeps
// showing a window made on the spot after it is over, without --since.
const defaultMaintenanceRecent = "24h"

// maintenanceFlags are the flags of `waymark maintenance` and its
// subcommands.
type maintenanceFlags struct {
	database string
	since    string // list: show windows over within this long
	// start and end: what the window covers.
	journey, tag, customer string
	// start: how long, why, what it is called, who made it.
	forDur, reason, name, by string
}

// match is the window's match as the flags say it.
func (f *maintenanceFlags) match() results.MaintenanceMatch {
	return results.MaintenanceMatch{Journey: f.journey, Tag: f.tag, Customer: f.customer}
}

// matchFlags adds --journey, --tag and --customer to c.
func (f *maintenanceFlags) matchFlags(c *cobra.Command, what string) {
	fl := c.Flags()
	fl.StringVar(&f.journey, "journey", "", what+" the journey `NAME`")
	fl.StringVar(&f.tag, "tag", "", what+" the journeys tagged `TAG`")
	fl.StringVar(&f.customer, "customer", "", what+" the journeys of `CUSTOMER`")
}

func (a *app) maintenanceCmd() *cobra.Command {
	f := &maintenanceFlags{}
	c := &cobra.Command{
		Use:   "maintenance",
		Short: "List maintenance windows; `start --tag T --for 30m`, `end ID`",
		Long: `List the maintenance windows: those of waymark.yaml (maintenance:) and those
made on the spot with ` + "`waymark maintenance start`" + `, kept in the database,
with what each covers, when, and whether it is active now and until when.
Windows made on the spot stay listed for --since after they are over.
Times are local.

Runs inside a window are run and recorded, marked as in maintenance, and
open and notify nothing.

Exit status: 0 listed, 2 bad input: a bad flag or config, a database that
cannot be read.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.listMaintenance(cmd.Context(), f)
		},
	}
	c.PersistentFlags().StringVar(&f.database, "database", "", "database `FILE` or postgres:// URL (default: config database)")
	c.Flags().StringVar(&f.since, "since", defaultMaintenanceRecent, "also list windows over within this `DURATION` (90m, 36h, 7d)")
	c.AddCommand(a.maintenanceStartCmd(f), a.maintenanceEndCmd(f))
	return c
}

func (a *app) maintenanceStartCmd(f *maintenanceFlags) *cobra.Command {
	c := &cobra.Command{
		Use:   "start --tag TAG|--journey NAME|--customer NAME --for DURATION [--reason TEXT]",
		Short: "Start a maintenance window now, for a while",
		Long: `Start a maintenance window now, kept in the database, for the journeys that
match every one of --journey, --tag and --customer given (at least one),
for --for: so a CI pipeline can silence its own site while it deploys.
` + "`waymark serve`" + ` marks their runs as in maintenance and opens and notifies
nothing until the window ends; an incident already open stays open, its
reminders and escalations paused. It prints the window's ID and end.

  waymark maintenance start --tag shop --for 30m --reason "release 4.2"

Exit status: 0 started, 2 bad input: no match flag, --for missing or not
positive, a database that does not exist or cannot be written.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.startMaintenance(cmd.Context(), f)
		},
	}
	f.matchFlags(c, "cover")
	fl := c.Flags()
	fl.StringVar(&f.forDur, "for", "", "how long the window lasts, from now: a `DURATION` such as 30m, 2h or 1d (required)")
	fl.StringVar(&f.reason, "reason", "", "why, shown with the window and its runs (`TEXT`)")
	fl.StringVar(&f.name, "name", "", "what the window is called (`TEXT`)")
	fl.StringVar(&f.by, "by", "", "who or what starts it (default $USER)")
	return c
}

func (a *app) maintenanceEndCmd(f *maintenanceFlags) *cobra.Command {
	c := &cobra.Command{
		Use:   "end ID | end --tag TAG|--journey NAME|--customer NAME",
		Short: "End a maintenance window made on the spot, now",
		Long: `End now the window made on the spot with this ID (as ` + "`waymark maintenance`" + `
lists it), or every active one made with exactly these --journey, --tag and
--customer (` + "`end --tag shop`" + ` after ` + "`start --tag shop`" + `). Windows of
waymark.yaml are ended by editing it.

Exit status: 0 ended, or nothing left to end (the window was already over,
none matched), 2 bad input: both or neither of ID and match flags, an ID
no window has, a database that does not exist or cannot be written.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.endMaintenance(cmd.Context(), args, f)
		},
	}
	f.matchFlags(c, "end the windows made for")
	return c
}

// listMaintenance is `waymark maintenance`. A SQLite database that does not
// exist yet holds no windows: the config's are listed alone, and it is
// not created.
func (a *app) listMaintenance(ctx context.Context, f *maintenanceFlags) error {
	recent, err := reports.ParseSince(f.since)
	if err != nil {
		return badInput(fmt.Errorf("--since %q: %w: want a duration such as 90m, 36h or 7d", f.since, err))
	}
	cfg, err := a.loadConfig()
	if err != nil {
		return badInput(err)
	}
	db := f.database
	if db == "" {
		db = cfg.Database
	}
	now := time.Now()
	var stored []results.Maintenance
	if _, err := os.Stat(db); isDatabaseURL(db) || !errors.Is(err, fs.ErrNotExist) {
		st, _, err := a.openStoreToRead(ctx, f.database)
		if err != nil {
			return err
		}
		defer st.Close()
		if stored, err = st.MaintenanceWindows(ctx, now.Add(-recent)); err != nil {
			return err
		}
	}
	return writeMaintenance(a.stdout, cfg.MaintenanceWindows(), stored, now, time.Local)
}

// startMaintenance is `waymark maintenance start`. The flags are checked
// before the database is opened, so a typo costs nothing.
func (a *app) startMaintenance(ctx context.Context, f *maintenanceFlags) error {
	m := f.match()
	if m.IsZero() {
		return badInput(errors.New("--journey, --tag or --customer: want at least one: what the window covers"))
	}
	if f.forDur == "" {
		return badInput(errors.New("--for: required: how long the window lasts, like --for 30m"))
	}
	d, err := reports.ParseSince(f.forDur)
	if err != nil {
		return badInput(fmt.Errorf("--for %q: %w: want a positive duration such as 30m, 2h or 1d", f.forDur, err))
	}
	by := f.by
	if by == "" {
		by, _ = a.getenv("USER")
	}
	st, _, err := a.openStoreToRead(ctx, f.database)
	if err != nil {
		return err
	}
	defer st.Close()
	now := time.Now()
	w, err := st.StartMaintenance(ctx, results.Maintenance{Name: f.name, Reason: f.reason, Match: m,
		From: now, To: now.Add(d), CreatedBy: by, CreatedAt: now})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(a.stdout, "maintenance %d started: %s until %s (%s)\n",
		w.ID, printable(w.Match.String()), maintStamp(w.To, now, time.Local), maintShort(w.To.Sub(w.From)))
	return err
}

// endMaintenance is `waymark maintenance end`.
func (a *app) endMaintenance(ctx context.Context, args []string, f *maintenanceFlags) error {
	m := f.match()
	var id int64
	switch {
	case len(args) == 1 && !m.IsZero():
		return badInput(errors.New("give the window's ID or --journey, --tag, --customer, not both"))
	case len(args) == 0 && m.IsZero():
		return badInput(errors.New("want the window's ID, as `waymark maintenance` lists it, or --journey, --tag or --customer"))
	case len(args) == 1:
		n, err := strconv.ParseInt(args[0], 10, 64)
		if err != nil || n <= 0 {
			return badInput(fmt.Errorf("maintenance ID %q: want a number, as `waymark maintenance` lists it", args[0]))
		}
		id = n
	}
	st, db, err := a.openStoreToRead(ctx, f.database)
	if err != nil {
		return err
	}
	defer st.Close()
	now := time.Now()
	if id == 0 {
		ended, err := st.EndMaintenanceMatching(ctx, m, now)
		if err != nil {
			return err
		}
		if len(ended) == 0 {
			_, err := fmt.Fprintf(a.stdout, "no active maintenance window made for %s: nothing to end\n", printable(m.String()))
			return err
		}
		for _, w := range ended {
			if err := writeEnded(a.stdout, w, now, time.Local); err != nil {
				return err
			}
		}
		return nil
	}
	w, err := st.EndMaintenance(ctx, id, now)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return badInput(fmt.Errorf("no maintenance window %d in %s: `waymark maintenance` lists them", id, describeDB(db)))
	case errors.Is(err, store.ErrMaintenanceOver):
		end := w.To
		if !w.EndedAt.IsZero() && w.EndedAt.Before(end) {
			end = w.EndedAt
		}
		_, err := fmt.Fprintf(a.stdout, "maintenance %d (%s) was already over at %s: nothing to end\n",
			w.ID, printable(w.Match.String()), maintStamp(end, now, time.Local))
		return err
	case err != nil:
		return err
	}
	return writeEnded(a.stdout, w, now, time.Local)
}

// writeEnded says that w was ended now.
func writeEnded(out io.Writer, w results.Maintenance, now time.Time, loc *time.Location) error {
	_, err := fmt.Fprintf(out, "maintenance %d ended: %s (was until %s)\n",
		w.ID, printable(w.Match.String()), maintStamp(w.To, now, loc))
	return err
}

// activeWindows returns the maintenance windows active at at: those of
// waymark.yaml (cfg, from config.MaintenanceWindows) and those made on
// the spot in st (none when st is nil). `waymark serve` asks it for each
// run, and marks the run and keeps its incidents quiet with
// results.InMaintenance over what it returns.
func activeWindows(ctx context.Context, cfg []results.Maintenance, st *store.Store, at time.Time) ([]results.Maintenance, error) {
	var out []results.Maintenance
	for _, w := range cfg {
		if _, _, ok := w.Active(at); ok {
			out = append(out, w)
		}
	}
	if st == nil {
		return out, nil
	}
	stored, err := st.MaintenanceWindows(ctx, at)
	if err != nil {
		return nil, err
	}
	for _, w := range stored {
		if _, _, ok := w.Active(at); ok {
			out = append(out, w)
		}
	}
	return out, nil
}

// writeMaintenance lists the windows of the config, then those stored,
// one a line: its ID ("config" for the config's), name and reason, what
// it covers, when it is, and where it stands at now. Times are shown in
// loc.
func writeMaintenance(out io.Writer, fromConfig, stored []results.Maintenance, now time.Time, loc *time.Location) error {
	if len(fromConfig)+len(stored) == 0 {
		_, err := fmt.Fprintln(out, "no maintenance windows")
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tWINDOW\tMATCH\tWHEN\tNOW")
	row := func(id string, w results.Maintenance) {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", id, maintTitle(w), printable(w.Match.String()), maintWhen(w, now, loc), maintState(w, now, loc))
	}
	for _, w := range fromConfig {
		row("config", w)
	}
	for _, w := range stored {
		row(strconv.FormatInt(w.ID, 10), w)
	}
	return tw.Flush()
}

// maintTitle is a window's name and reason: "weekly patching (OS
// updates)", either alone, or "-".
func maintTitle(w results.Maintenance) string {
	switch {
	case w.Name != "" && w.Reason != "":
		return printable(w.Name) + " (" + printable(w.Reason) + ")"
	case w.Name != "":
		return printable(w.Name)
	case w.Reason != "":
		return printable(w.Reason)
	}
	return "-"
}

// maintWhen says when a window is: "0 2 * * SUN for 2h, Europe/London"
// for a repeating one, "2026-11-23 20:00 → 20:30, by ci" for a single one.
func maintWhen(w results.Maintenance, now time.Time, loc *time.Location) string {
	if w.Repeating() {
		s := printable(w.Cron) + " for " + maintShort(w.Duration)
		switch {
		case w.TimeZone != "":
			s += ", " + printable(w.TimeZone)
		case !strings.Contains(w.Cron, "TZ="):
			s += ", UTC"
		}
		return s
	}
	s := maintStamp(w.From, now, loc) + " → " + maintStamp(w.To, w.From, loc)
	if w.CreatedBy != "" {
		s += ", by " + printable(w.CreatedBy)
	}
	return s
}

// maintState says where a window stands at now: active until when, next
// when, ended early, or over.
func maintState(w results.Maintenance, now time.Time, loc *time.Location) string {
	if _, end, ok := w.Active(now); ok {
		return fmt.Sprintf("active until %s (%s left)", maintStamp(end, now, loc), maintShort(end.Sub(now)))
	}
	if start, end, ok := w.Next(now); ok {
		return fmt.Sprintf("next %s → %s (in %s)", maintStamp(start, now, loc), maintStamp(end, start, loc), maintShort(start.Sub(now)))
	}
	if !w.EndedAt.IsZero() {
		return "ended early at " + maintStamp(w.EndedAt, now, loc)
	}
	if w.Repeating() {
		return "no more starts"
	}
	return "over"
}

// maintStamp shows t in loc: the time alone on the day of ref, else with
// its date; to the minute unless it has seconds.
func maintStamp(t, ref time.Time, loc *time.Location) string {
	t, ref = t.In(loc), ref.In(loc)
	layout := "15:04"
	if t.Second() != 0 {
		layout = "15:04:05"
	}
	if y, m, d := t.Date(); y != ref.Year() || m != ref.Month() || d != ref.Day() {
		layout = "2006-01-02 " + layout
	}
	return t.Format(layout)
}

// maintShort shows d briefly: to the second under a minute, to the
// minute under a day (30m, 2h, 1h30m), else in days and hours (5d6h).
func maintShort(d time.Duration) string {
	const day = 24 * time.Hour
	switch {
	case d < time.Minute:
		return d.Round(time.Second).String()
	case d < day:
		s := strings.TrimSuffix(d.Round(time.Minute).String(), "0s")
		if h, ok := strings.CutSuffix(s, "h0m"); ok {
			s = h + "h"
		}
		return s
	}
	d = d.Round(time.Hour)
	s := strconv.FormatInt(int64(d/day), 10) + "d"
	if h := d % day / time.Hour; h != 0 {
		s += strconv.FormatInt(int64(h), 10) + "h"
	}
	return s
}

// printable is s, or s quoted when it holds anything a terminal would act
// on: names and reasons come from people and from the database.
func printable(s string) string {
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return s
}
