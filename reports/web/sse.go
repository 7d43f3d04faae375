package web

import (
	"fmt"
	"net/http"
	"time"
)

// markEvery is how often an open page's stream asks the store whether
// anything changed: one cheap query per open page.
const markEvery = 2 * time.Second

// events streams server-sent events to an open page: `change` whenever a
// run is kept or an incident moves (the page then reloads its main part),
// and a comment every 15 s so proxies keep the connection.
func (d *dash) events(w http.ResponseWriter, r *http.Request) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming is not supported here", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	ctx := r.Context()
	last, err := d.Store.Mark(ctx, d.Now())
	if err != nil {
		d.log.Warn("dashboard events", "error", err)
	}
	fmt.Fprint(w, "retry: 5000\n\n")
	flusher.Flush()
	tick := time.NewTicker(markEvery)
	defer tick.Stop()
	quiet := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		mark, err := d.Store.Mark(ctx, d.Now())
		switch {
		case err != nil:
			if ctx.Err() == nil {
				d.log.Warn("dashboard events", "error", err)
			}
		case mark != last:
			last, quiet = mark, 0
			fmt.Fprintf(w, "event: change\ndata: %s\n\n", mark)
			flusher.Flush()
			continue
		}
		if quiet++; quiet*int(markEvery/time.Second) >= 15 {
			quiet = 0
			fmt.Fprint(w, ": still here\n\n")
			flusher.Flush()
		}
	}
}
