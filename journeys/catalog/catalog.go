// Package catalog is the set of journeys an agent serves: loaded from
// their files and folders, reloaded when a file changes (a file watch or
// an explicit Reload, e.g. on SIGHUP), each journey kept at its last good
// version while its file does not validate.
package catalog

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/waymarkhq/waymark/journeys"
)

// FileError is a journey file that did not load, and why.
type FileError struct {
	File string
	Err  string
}

// Snapshot is what the catalog holds after a load: the journeys it serves
// (a journey whose file stopped validating at its last good version) and
// the files that failed, with every problem of each.
type Snapshot struct {
	Journeys []*journeys.Journey
	Failed   []FileError
}

// Catalog loads and holds journeys. It is safe for concurrent use.
type Catalog struct {
	roots []string
	log   *slog.Logger

	mu     sync.Mutex
	byName map[string]*journeys.Journey
	snap   Snapshot
}

// New returns a catalog of the journeys under roots (files and folders, as
// journeys.Load takes them). Nothing is read until Reload.
func New(roots []string, log *slog.Logger) *Catalog {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Catalog{roots: slices.Clone(roots), log: log, byName: map[string]*journeys.Journey{}}
}

// Roots are the files and folders the catalog loads.
func (c *Catalog) Roots() []string { return slices.Clone(c.roots) }

// Journey returns the journey of that name as the catalog serves it.
func (c *Catalog) Journey(name string) (*journeys.Journey, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	j, ok := c.byName[name]
	return j, ok
}

// Snapshot returns what the last Reload found.
func (c *Catalog) Snapshot() Snapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.snap
}

// Reload reads every journey again. A journey whose file now fails keeps
// the version loaded before, and the file is listed in Failed; a journey
// whose file is gone, or now defines another journey, is dropped. A name
// defined by two files stays with the file that had it first.
func (c *Catalog) Reload() Snapshot {
	loaded, err := journeys.Load(c.roots...)
	var list journeys.ErrorList
	if err != nil && !errors.As(err, &list) {
		list = journeys.ErrorList{{File: strings.Join(c.roots, ", "), Msg: err.Error()}}
	}
	failed := map[string][]string{} // file -> its problems
	var order []string
	for _, e := range list {
		if _, seen := failed[e.File]; !seen {
			order = append(order, e.File)
		}
		failed[e.File] = append(failed[e.File], e.Error())
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	next := map[string]*journeys.Journey{}
	for _, j := range loaded {
		next[j.Name] = j
	}
	for name, old := range c.byName {
		if _, still := next[name]; still {
			continue
		}
		if _, broken := failed[old.File]; broken {
			next[name] = old // the file fails now: keep its last good version
			c.log.Warn("journey file does not validate; its last good version stays scheduled", "journey", name, "file", old.File)
		}
	}
	snap := Snapshot{}
	for _, j := range next {
		snap.Journeys = append(snap.Journeys, j)
	}
	slices.SortFunc(snap.Journeys, func(a, b *journeys.Journey) int { return strings.Compare(a.Name, b.Name) })
	for _, f := range order {
		snap.Failed = append(snap.Failed, FileError{File: f, Err: strings.Join(failed[f], "\n")})
	}
	c.byName, c.snap = next, snap
	return snap
}

// Watch reloads the catalog whenever a file under its roots changes, and
// calls changed with each new snapshot, until ctx ends. Bursts of changes
// (an editor's save, a git checkout) are folded into one reload after
// quiet, a short pause. Folders created later are watched too. The watch
// is in place when Watch returns; it runs on in the background.
func (c *Catalog) Watch(ctx context.Context, quiet time.Duration, changed func(Snapshot)) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch journey files: %w", err)
	}
	for _, root := range c.roots {
		if err := addTree(w, root); err != nil {
			w.Close()
			return fmt.Errorf("watch journey files under %s: %w", root, err)
		}
	}
	go c.watch(ctx, w, quiet, changed)
	return nil
}

// watch is Watch's loop.
func (c *Catalog) watch(ctx context.Context, w *fsnotify.Watcher, quiet time.Duration, changed func(Snapshot)) {
	defer w.Close()
	var fire <-chan time.Time
	var timer *time.Timer
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.Events:
			if !ok {
				return
			}
			if ev.Has(fsnotify.Create) {
				if fi, err := os.Stat(ev.Name); err == nil && fi.IsDir() {
					_ = addTree(w, ev.Name)
				}
			}
			if timer == nil {
				timer = time.NewTimer(quiet)
			} else {
				timer.Reset(quiet)
			}
			fire = timer.C
		case err, ok := <-w.Errors:
			if !ok {
				return
			}
			c.log.Warn("watching journey files", "error", err)
		case <-fire:
			fire = nil
			changed(c.Reload())
		}
	}
}

// addTree watches root, and every folder below it when it is a folder (a
// file given by name is watched through its folder, so a replace by
// rename is seen).
func addTree(w *fsnotify.Watcher, root string) error {
	fi, err := os.Stat(root)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return w.Add(filepath.Dir(root))
	}
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // a folder that vanished meanwhile
		}
		if d.IsDir() {
			if path != root && strings.HasPrefix(d.Name(), ".") {
				return fs.SkipDir
			}
			return w.Add(path)
		}
		return nil
	})
}
