package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/waymarkhq/waymark/reports"
	"github.com/waymarkhq/waymark/results"
	"github.com/waymarkhq/waymark/results/store"
)

// runsFlags are the flags of `waymark runs`.
type runsFlags struct {
	limit    int
	outcome  string
	since    string
	database string
}

func (a *app) runsCmd() *cobra.Command {
	var f runsFlags
	c := &cobra.Command{
		Use:   "runs [JOURNEY]",
		Short: "List stored runs, newest first; `runs show ID` shows one",
		Long: `List the stored runs, newest first, one line each: when it started, its
ID (the shortest prefix of at least 8 characters that tells the listed runs
apart), journey, location, outcome, duration and, for a run that did not
pass, the step and cause that decided it. Times are local.

Runs are stored by ` + "`waymark run --record`" + ` and ` + "`waymark serve`" + `; reading never
creates a database.

Exit status: 0 listed (also when no run matches), 2 bad input: a bad flag,
a database that does not exist or cannot be read.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			journey := ""
			if len(args) == 1 {
				journey = args[0]
			}
			return a.listRuns(cmd.Context(), journey, f)
		},
	}
	c.PersistentFlags().StringVar(&f.database, "database", "", "database `FILE` to read (default: config database)")
	fl := c.Flags()
	fl.IntVar(&f.limit, "limit", 20, "list at most `N` runs; 0 lists every run")
	fl.StringVar(&f.outcome, "outcome", "", "only runs with this `OUTCOME`: "+outcomeList())
	fl.StringVar(&f.since, "since", "", "only runs started within this `DURATION` before now (90m, 36h, 7d)")
	c.AddCommand(a.runsShowCmd(&f))
	return c
}

func (a *app) runsShowCmd(f *runsFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "show ID",
		Short: "Show one stored run with its steps",
		Long: `Show one stored run: what ran, where, when and how it ended, then each
step as ` + "`waymark run`" + ` showed it live, with its error, expected and actual
values, URL, what the page said (exceptions, console errors, dialogs) and
the monitor's notes.

ID may be the start of a run's ID, as ` + "`waymark runs`" + ` shows it, when no other
run's ID starts the same way.

Exit status: 0 shown, 2 no such run, a prefix several runs share, or a
database that does not exist or cannot be read.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.showRun(cmd.Context(), args[0], f.database)
		},
	}
}

// outcomes are the outcomes a run can have, in the order people read them.
func outcomes() []results.Outcome {
	return []results.Outcome{results.Passed, results.Degraded, results.Failed, results.Error, results.Aborted}
}

// outcomeList is outcomes() for a message: "passed, degraded, …".
func outcomeList() string {
	var s []string
	for _, o := range outcomes() {
		s = append(s, string(o))
	}
	return strings.Join(s, ", ")
}

// listRuns is `waymark runs [JOURNEY]`. Flags are checked before the
// database is opened, so a typo costs nothing.
func (a *app) listRuns(ctx context.Context, journey string, f runsFlags) error {
	filter := store.RunFilter{Journey: journey, Limit: f.limit}
	if f.limit < 0 {
		return badInput(fmt.Errorf("--limit %d: want 0 (every run) or more", f.limit))
	}
	if f.outcome != "" {
		if !slices.Contains(outcomes(), results.Outcome(f.outcome)) {
			return badInput(fmt.Errorf("--outcome %q: want one of %s", f.outcome, outcomeList()))
		}
		filter.Outcome = results.Outcome(f.outcome)
	}
	if f.since != "" {
		d, err := reports.ParseSince(f.since)
		if err != nil {
			return badInput(fmt.Errorf("--since %q: %w: want a duration such as 90m, 36h or 7d", f.since, err))
		}
		filter.Since = time.Now().Add(-d)
	}

	st, _, err := a.openStoreToRead(ctx, f.database)
	if err != nil {
		return err
	}
	defer st.Close()
	listed, err := st.Runs(ctx, filter)
	if err != nil {
		return err
	}
	runs := make([]*results.Run, len(listed))
	for i := range listed {
		runs[i] = &listed[i]
		if listed[i].Outcome == results.Passed {
			continue
		}
		// The step that decided a run is found among its steps, which
		// the list leaves out.
		full, err := st.Run(ctx, listed[i].ID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			// Pruned since it was listed: shown with its cause alone.
		case err != nil:
			return err
		default:
			runs[i] = full
		}
	}
	others, err := neighbourIDs(ctx, st, listed)
	if err != nil {
		return err
	}
	return reports.ListRuns(a.stdout, runs, reports.RunsOptions{Color: a.color(), OtherIDs: others})
}

// neighbourMargin is how long before the oldest listed run neighbourIDs
// looks: more than the 65 s that the first 8 characters of a UUIDv7 span,
// with room for a run's set-up between making its ID and starting.
const neighbourMargin = 5 * time.Minute

// neighbourIDs returns the IDs of every run stored since shortly before
// the oldest of listed, whatever its journey or outcome. The runner's IDs
// are UUIDv7, whose first characters are the time they were made: an ID
// that a listed run's short ID could also be the start of belongs to a
// run made around the same time, so the short IDs shown are unique in the
// whole database, not only in a filtered list. It costs one query over
// the time the list spans.
func neighbourIDs(ctx context.Context, st *store.Store, listed []results.Run) ([]string, error) {
	var oldest time.Time
	for _, r := range listed {
		if !r.StartedAt.IsZero() && (oldest.IsZero() || r.StartedAt.Before(oldest)) {
			oldest = r.StartedAt
		}
	}
	if oldest.IsZero() {
		return nil, nil
	}
	runs, err := st.Runs(ctx, store.RunFilter{Since: oldest.Add(-neighbourMargin)})
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(runs))
	for i, r := range runs {
		ids[i] = r.ID
	}
	return ids, nil
}

// showRun is `waymark runs show ID`.
func (a *app) showRun(ctx context.Context, id, database string) error {
	if id == "" {
		return badInput(errors.New("run ID: empty: want a run's ID, or its first characters, as `waymark runs` shows them"))
	}
	st, db, err := a.openStoreToRead(ctx, database)
	if err != nil {
		return err
	}
	defer st.Close()
	run, err := findRun(ctx, st, id)
	var ambiguous *ambiguousError
	switch {
	case errors.Is(err, store.ErrNotFound):
		return badInput(fmt.Errorf("no run with ID %q in %s: `waymark runs` lists the stored runs", id, db))
	case errors.As(err, &ambiguous):
		return badInput(err)
	case err != nil:
		return err
	}
	return reports.ShowRun(a.stdout, run, reports.RunsOptions{Color: a.color()})
}

// openStoreToRead opens the database of --database, or the config's, to
// read runs from it, and says which one it is. Reading must not create a
// database: a file that does not exist is the user's to fix, not an empty
// database to make.
func (a *app) openStoreToRead(ctx context.Context, flag string) (*store.Store, string, error) {
	cfg, err := a.loadConfig()
	if err != nil {
		return nil, "", badInput(err)
	}
	db, from := flag, "--database"
	if db == "" {
		db, from = cfg.Database, "database (from the config)"
	}
	if !isDatabaseURL(db) {
		fi, err := os.Stat(db)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return nil, "", badInput(fmt.Errorf("%s %q: no such database: runs are stored by `waymark run --record` and `waymark serve`", from, db))
		case err != nil:
			return nil, "", badInput(fmt.Errorf("%s %q: %w", from, db, err))
		case fi.IsDir():
			return nil, "", badInput(fmt.Errorf("%s %q is a directory, expected a database file", from, db))
		}
	}
	st, err := store.Open(ctx, db, store.WithLogger(a.logger()))
	if err != nil {
		return nil, "", badInput(fmt.Errorf("%s: %w", from, err))
	}
	return st, db, nil
}

// isDatabaseURL says whether database names a server (postgres://…)
// rather than a file.
func isDatabaseURL(database string) bool {
	return strings.HasPrefix(database, "postgres://") || strings.HasPrefix(database, "postgresql://")
}

// maxCandidates is how many runs an ambiguous ID prefix names.
const maxCandidates = 5

// ambiguousError is an ID prefix that several runs' IDs start with.
type ambiguousError struct {
	prefix string
	runs   []results.Run // newest first
}

func (e *ambiguousError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "run ID %q is the start of %d runs' IDs; give more of it:", e.prefix, len(e.runs))
	for i, r := range e.runs {
		if i == maxCandidates {
			fmt.Fprintf(&b, "\n  … and %d more", len(e.runs)-maxCandidates)
			break
		}
		// From the database: quoted, so nothing in it acts on a terminal.
		fmt.Fprintf(&b, "\n  %q  %s  %q  %s", r.ID, r.StartedAt.Local().Format("2006-01-02 15:04:05"), r.Journey, r.Outcome)
	}
	return b.String()
}

// findRun returns the run whose ID is id or, when none is, the one run
// whose ID starts with id (in any case): people copy the first characters
// of an ID. It returns an error wrapping store.ErrNotFound when no run
// matches, and an *ambiguousError when several do.
func findRun(ctx context.Context, st *store.Store, id string) (*results.Run, error) {
	run, err := st.Run(ctx, id)
	if !errors.Is(err, store.ErrNotFound) {
		return run, err
	}
	// The store looks runs up by whole ID only, so the prefix is matched
	// here. A UUIDv7 prefix says when its run started at the earliest;
	// when it finds nothing there, every run is searched, so a bound that
	// guessed wrong (an ID that is not a UUIDv7) costs time, not the run.
	var matches []results.Run
	since, bounded := uuid7Since(id, time.Now())
	for _, f := range []store.RunFilter{{Since: since}, {}} {
		runs, err := st.Runs(ctx, f)
		if err != nil {
			return nil, err
		}
		for _, r := range runs {
			if len(r.ID) >= len(id) && strings.EqualFold(r.ID[:len(id)], id) {
				matches = append(matches, r)
			}
		}
		if len(matches) > 0 || !bounded {
			break
		}
	}
	switch len(matches) {
	case 0:
		return nil, fmt.Errorf("find run %q: %w", id, store.ErrNotFound)
	case 1:
		return st.Run(ctx, matches[0].ID)
	}
	return nil, &ambiguousError{prefix: id, runs: matches}
}

// uuid7Since reads the time a UUIDv7 starting with prefix was made, less
// a minute for clocks, as the earliest start of the run it names: the
// runner makes a run's ID (a UUIDv7, whose first 48 bits are the Unix
// time in milliseconds) before the run starts. ok is false when prefix
// holds fewer than 8 hex digits of that time, is not shaped like the start
// of a UUID, or reads as a time before 2020 or after tomorrow.
func uuid7Since(prefix string, now time.Time) (since time.Time, ok bool) {
	if len(prefix) < 8 || (len(prefix) > 8 && prefix[8] != '-') {
		return time.Time{}, false
	}
	digits := prefix[:8]
	if len(prefix) > 9 {
		digits += prefix[9:min(len(prefix), 13)]
	}
	v, err := strconv.ParseUint(digits, 16, 64)
	if err != nil {
		return time.Time{}, false
	}
	ms := int64(v << (4 * (12 - len(digits))))
	t := time.UnixMilli(ms)
	if t.Before(time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)) || t.After(now.Add(24*time.Hour)) {
		return time.Time{}, false
	}
	return t.Add(-time.Minute), true
}
