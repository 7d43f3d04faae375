package reports

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// StatusView is what `waymark status` shows of a database that `waymark
// serve` agents share: plain values, which the CLI fills from the store
// and its own judgement (which agent is stale, which queue no agent
// takes), so that Status only lays them out. Every text in it comes from
// the database, and Status passes each through termLine.
type StatusView struct {
	// Database names the database read (a URL without its password).
	Database string
	// Now is when the database was read: "12s ago" counts from it.
	Now time.Time
	// Agents are the agents that have a row, by location then ID: live
	// ones and ones that stopped without saying so.
	Agents []StatusAgent
	// Leader is River's leader; its ID is "" when none was ever
	// elected, or the last one resigned.
	Leader StatusLeader
	// Queues are River's queues that hold unfinished jobs, by name.
	Queues []StatusQueue
	// MissWindow is how far back Misses go, as the user wrote it ("24h").
	MissWindow string
	// Misses are the slots skipped and dropped within MissWindow, by
	// journey then location; only pairs with a miss.
	Misses []StatusMisses
	// Journeys are every journey of the database, by name.
	Journeys []StatusJourney
	// Unserved are the locations that scheduled journeys name and no live
	// agent works, by location.
	Unserved []StatusUnserved
}

// StatusAgent is one `waymark serve`, as its last heartbeat said.
type StatusAgent struct {
	ID, Location, Version, Host string
	StartedAt, LastSeen         time.Time
	Running                     int // runs in progress at the last heartbeat
	// Stale: not seen for over a minute, so not counted as serving its
	// location: it died, or cannot reach the database.
	Stale bool
}

// StatusLeader is the agent River elected to dispatch the schedules.
type StatusLeader struct {
	ID string // the agent's ID; "" for none
	// Location is the leader's agent's location; "" when the leader is
	// no agent the database knows.
	Location             string
	ElectedAt, ExpiresAt time.Time
	// Live: its term has not run out. A leader that died keeps its row
	// until another agent stands, and is shown as the one that was.
	Live bool
}

// StatusQueue is one River queue's unfinished jobs.
type StatusQueue struct {
	Name    string
	Waiting int // could be worked now
	Ahead   int // due later
	Running int // held by a worker
	// Location is the location whose runs the queue holds; "" for the
	// dispatcher's queue and any other.
	Location string
	// NoAgent: the queue holds jobs and no live agent works it (none in
	// its location, or none at all): they wait, and their slots will be
	// dropped.
	NoAgent bool
}

// StatusMisses counts the missed slots of one journey in one location.
type StatusMisses struct {
	Journey, Location string
	Skipped           int // due while its previous run still went
	Dropped           int // too old to run when a worker could take it
}

// StatusJourney is one journey as `waymark serve` last synced it.
type StatusJourney struct {
	Name, File string
	Schedule   string   // "" runs only on demand (`waymark run`)
	Locations  []string // nil: every location that has an agent
	// Enabled is false for a journey whose file was removed or now
	// defines another journey.
	Enabled bool
	// LoadError is why its file does not load now, one problem a line;
	// "" when it loads. Such a journey keeps its last good version.
	LoadError string
}

// StatusUnserved is a location that journeys name for their runs and no
// live agent works: their slots there are not run.
type StatusUnserved struct {
	Location string
	Journeys []string // the scheduled journeys that name it, by name
}

// StatusOptions configures Status.
type StatusOptions struct {
	// Color turns on ANSI colors. The CLI sets it when stdout is a TTY and
	// NO_COLOR is unset.
	Color bool
	// Zone is the time zone times are shown in; nil is time.Local.
	Zone *time.Location
}

// Status writes the state of a Waymark database's serving in sections:
// the database and when it was read; the agents (ID, location, version,
// host, start, last heartbeat as "12s ago", runs in progress, stale ones
// marked); River's leader; the queues (jobs waiting, due ahead and
// running, a queue no live agent works marked); the slots skipped and
// dropped by journey and location; the journeys, scheduled ones with
// their schedule and locations, those whose file does not load with the
// first line of the error, disabled ones, and how many have no schedule;
// then each location that journeys name and no live agent works.
func Status(w io.Writer, v StatusView, opts StatusOptions) error {
	zone := opts.Zone
	if zone == nil {
		zone = time.Local
	}
	paint := painter(opts.Color)
	var b strings.Builder
	title := func(name, summary string) {
		b.WriteString(paint.paint(ansiBold, name))
		if summary != "" {
			b.WriteString("  " + summary)
		}
		b.WriteString("\n")
	}

	title("Database", termLine(v.Database)+", read "+clock(v.Now, zone, true))

	b.WriteString("\n")
	live := 0
	for _, a := range v.Agents {
		if !a.Stale {
			live++
		}
	}
	switch {
	case len(v.Agents) == 0:
		title("Agents", "none")
		b.WriteString(paint.paint(ansiRed, "✗  no `waymark serve` runs on this database: no journey runs on its schedule") + "\n")
	default:
		summary := fmt.Sprintf("%d live", live)
		if stale := len(v.Agents) - live; stale > 0 {
			summary += fmt.Sprintf(", %d stale", stale)
		}
		title("Agents", summary)
		t := statusTable{head: []string{"ID", "LOCATION", "VERSION", "HOST", "STARTED", "LAST SEEN", "RUNNING"}, right: []bool{6: true}}
		for _, a := range v.Agents {
			r := statusRow{symbol: "✓", style: ansiGreen, cells: []string{termLine(a.ID), termLine(a.Location),
				termLine(a.Version), termLine(a.Host), clock(a.StartedAt, zone, false), ago(v.Now, a.LastSeen), fmt.Sprint(a.Running)}}
			if a.Stale {
				r.symbol, r.style, r.note = "!", ansiYellow, "stale: not seen for over a minute"
			}
			t.rows = append(t.rows, r)
		}
		t.write(&b, paint)
		if live == 0 {
			b.WriteString(paint.paint(ansiRed, "✗  no live agent: no journey runs on its schedule") + "\n")
		}
	}

	b.WriteString("\n")
	l := v.Leader
	who := termLine(l.ID)
	if l.Location != "" {
		who += " in " + termLine(l.Location)
	}
	switch {
	case l.ID == "":
		title("Leader", "none")
	case l.Live:
		title("Leader", fmt.Sprintf("%s, since %s (%s)", who, clock(l.ElectedAt, zone, false), ago(v.Now, l.ElectedAt)))
	default:
		title("Leader", fmt.Sprintf("none: the last one, %s, lapsed %s", who, ago(v.Now, l.ExpiresAt)))
	}

	b.WriteString("\n")
	if len(v.Queues) == 0 {
		title("Queues", "no job waiting, due ahead or running")
	} else {
		title("Queues", "")
		t := statusTable{head: []string{"QUEUE", "WAITING", "AHEAD", "RUNNING"}, right: []bool{1: true, 2: true, 3: true}}
		for _, q := range v.Queues {
			r := statusRow{cells: []string{termLine(q.Name), fmt.Sprint(q.Waiting), fmt.Sprint(q.Ahead), fmt.Sprint(q.Running)}}
			if q.NoAgent {
				r.symbol, r.style, r.note = "!", ansiYellow, "no live agent works it: its runs wait, then are dropped"
				if q.Location != "" {
					r.note = "no live agent in " + termLine(q.Location) + ": its runs wait, then are dropped"
				}
			}
			t.rows = append(t.rows, r)
		}
		t.write(&b, paint)
	}

	b.WriteString("\n")
	window := "in the last " + termLine(v.MissWindow)
	if len(v.Misses) == 0 {
		title("Missed slots", "none "+window)
	} else {
		title("Missed slots", window)
		t := statusTable{head: []string{"JOURNEY", "LOCATION", "SKIPPED", "DROPPED"}, right: []bool{2: true, 3: true}}
		for _, m := range v.Misses {
			t.rows = append(t.rows, statusRow{cells: []string{termLine(m.Journey), termLine(m.Location), fmt.Sprint(m.Skipped), fmt.Sprint(m.Dropped)}})
		}
		t.write(&b, paint)
	}

	b.WriteString("\n")
	writeStatusJourneys(&b, paint, title, v.Journeys)

	if len(v.Unserved) > 0 {
		b.WriteString("\n")
		for _, u := range v.Unserved {
			names := make([]string, len(u.Journeys))
			for i, j := range u.Journeys {
				names[i] = termLine(j)
			}
			b.WriteString(paint.paint(ansiRed, fmt.Sprintf("✗  no agent serves location %s: its slots are not run (%s)",
				termLine(u.Location), strings.Join(names, ", "))) + "\n")
		}
	}

	if _, err := io.WriteString(w, fit(b.String())); err != nil {
		return fmt.Errorf("write status: %w", err)
	}
	return nil
}

// writeStatusJourneys writes the journeys section of Status: one table of
// the scheduled journeys and those whose file does not load (the first
// line of its error under each), then the disabled ones; then the
// journeys without a schedule that the table leaves out, by name.
func writeStatusJourneys(b *strings.Builder, paint painter, title func(name, summary string), js []StatusJourney) {
	if len(js) == 0 {
		title("Journeys", "none: `waymark serve` records the journeys it loads")
		return
	}
	var shown, disabled []StatusJourney
	var onDemand []string // enabled, no schedule, loading: not in the table
	scheduled, unscheduled, failing := 0, 0, 0
	for _, j := range js {
		switch {
		case !j.Enabled:
			disabled = append(disabled, j)
			continue
		case j.Schedule != "":
			scheduled++
		default:
			unscheduled++
		}
		if j.LoadError != "" {
			failing++
		}
		if j.Schedule == "" && j.LoadError == "" {
			onDemand = append(onDemand, termLine(j.Name))
		} else {
			shown = append(shown, j)
		}
	}
	parts := []string{fmt.Sprintf("%d scheduled", scheduled)}
	if unscheduled > 0 {
		parts = append(parts, fmt.Sprintf("%d without a schedule", unscheduled))
	}
	if len(disabled) > 0 {
		parts = append(parts, fmt.Sprintf("%d disabled", len(disabled)))
	}
	summary := strings.Join(parts, ", ")
	if failing > 0 {
		summary += fmt.Sprintf("; %d failing to load", failing)
	}
	title("Journeys", summary)

	t := statusTable{head: []string{"JOURNEY", "SCHEDULE", "LOCATIONS"}}
	for _, j := range shown {
		locs := "every location with an agent"
		if len(j.Locations) > 0 {
			names := make([]string, len(j.Locations))
			for i, l := range j.Locations {
				names[i] = termLine(l)
			}
			locs = strings.Join(names, ", ")
		}
		schedule := termLine(j.Schedule)
		if schedule == "" {
			schedule = "-"
		}
		r := statusRow{cells: []string{termLine(j.Name), schedule, locs}}
		if j.LoadError != "" {
			r.symbol, r.style = "!", ansiYellow
			r.below = "does not load, keeps its last good version: " + loadProblem(j)
		}
		t.rows = append(t.rows, r)
	}
	for _, j := range disabled {
		why := "disabled: its file no longer defines it"
		if j.File != "" {
			why = "disabled: " + termLine(j.File) + " no longer defines it"
		}
		r := statusRow{symbol: "–", style: ansiDim, cells: []string{termLine(j.Name), why}, span: true}
		if j.LoadError != "" {
			r.below = "does not load: " + loadProblem(j)
		}
		t.rows = append(t.rows, r)
	}
	if len(t.rows) > 0 {
		t.write(b, paint)
	}
	if len(onDemand) > 0 {
		const most = 10
		names := strings.Join(onDemand[:min(len(onDemand), most)], ", ")
		if len(onDemand) > most {
			names += fmt.Sprintf(" and %d more", len(onDemand)-most)
		}
		b.WriteString("   " + paint.paint(ansiDim, "without a schedule, run only by `waymark run`: ") + names + "\n")
	}
}

// loadProblem is the first line of a journey's load error and, when it
// has more, how many and how to see them all.
func loadProblem(j StatusJourney) string {
	lines := strings.Split(strings.TrimRight(j.LoadError, "\r\n"), "\n")
	p := termLine(strings.TrimSuffix(lines[0], "\r"))
	if more := len(lines) - 1; more > 0 {
		p += fmt.Sprintf(" (and %d more %s: waymark validate %s)", more, plural(more, "line"), termLine(j.File))
	}
	return p
}

// ago is how long before now t was, as people read it: "12s ago",
// "3m05s ago", "2h10m ago", "3d04h ago". A t after now (clocks of two
// machines that disagree) is "0s ago"; the zero time is "-".
func ago(now, t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := max(now.Sub(t), 0)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds ago", int(d.Minutes()), int(d.Seconds())%60)
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh%02dm ago", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd%02dh ago", int(d.Hours())/24, int(d.Hours())%24)
}

// statusTable is a table of Status: a symbol column, then columns padded
// to their widest cell (right-aligned where right says), then a note.
type statusTable struct {
	head  []string
	right []bool // by column; shorter than head: the rest left-aligned
	rows  []statusRow
}

// statusRow is a row of a statusTable. Its texts are terminal-safe already.
type statusRow struct {
	symbol, style string // the symbol, and the style of symbol and note; "" symbol: blank
	cells         []string
	note          string // after the last column
	below         string // a line of its own under the row, indented, in style
	// span: the second cell is a text that runs over the other columns,
	// which it neither widens nor is padded to.
	span bool
}

func (t *statusTable) write(b *strings.Builder, paint painter) {
	wid := make([]int, len(t.head))
	for i, h := range t.head {
		wid[i] = width(h)
	}
	for _, r := range t.rows {
		for i, c := range r.cells {
			if r.span && i > 0 {
				break
			}
			wid[i] = max(wid[i], width(c))
		}
	}
	line := func(cells []string, span bool) string {
		out := make([]string, len(cells))
		for i, c := range cells {
			switch {
			case span && i > 0:
				out[i] = c
			case i < len(t.right) && t.right[i]:
				out[i] = padLeft(c, wid[i])
			default:
				out[i] = padRight(c, wid[i])
			}
		}
		return strings.Join(out, "  ")
	}
	b.WriteString("   " + paint.paint(ansiDim, strings.TrimRight(line(t.head, false), " ")) + "\n")
	for _, r := range t.rows {
		symbol := " "
		if r.symbol != "" {
			symbol = paint.paint(r.style, r.symbol)
		}
		l := symbol + "  " + line(r.cells, r.span)
		if r.note != "" {
			l += "  " + paint.paint(r.style, r.note)
		}
		b.WriteString(strings.TrimRight(l, " ") + "\n")
		if r.below != "" {
			b.WriteString("     " + paint.paint(r.style, r.below) + "\n")
		}
	}
}
