package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/spf13/cobra"

	"github.com/waymarkhq/waymark/journeys"
	"github.com/waymarkhq/waymark/reports"
	"github.com/waymarkhq/waymark/results"
	"github.com/waymarkhq/waymark/results/store"
	"github.com/waymarkhq/waymark/runner"
	"github.com/waymarkhq/waymark/runner/browser"
)

// runFlags are the flags of `waymark run`.
type runFlags struct {
	baseURL   string
	tags      []string
	parallel  int
	junit     string
	json      string
	artifacts string
	record    bool
	database  string
}

func (a *app) runCmd() *cobra.Command {
	var f runFlags
	c := &cobra.Command{
		Use:   "run [PATH…]",
		Short: "Run journeys once (files or folders), with live progress",
		Long: `Run journeys once, as a CI smoke test after a deploy.

Exit status: 0 every journey passed (or degraded), 1 a journey failed,
2 bad input or config, or the monitor could not check (e.g. no browser),
130 interrupted.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runJourneys(cmd.Context(), args, f)
		},
	}
	fl := c.Flags()
	fl.StringVar(&f.baseURL, "base-url", "", "base URL for every journey, overriding its site (e.g. http://127.0.0.1:8085)")
	fl.StringSliceVar(&f.tags, "tag", nil, "run only journeys with one of these tags (repeatable)")
	fl.IntVar(&f.parallel, "parallel", 0, "journeys run at once (default browser.max_concurrent)")
	fl.StringVar(&f.junit, "junit", "", "write a JUnit XML report to `FILE`")
	fl.StringVar(&f.json, "json", "", "write a JSON report to `FILE`")
	fl.StringVar(&f.artifacts, "artifacts", "", "write screenshots to `DIR`")
	fl.BoolVar(&f.record, "record", false, "store the runs in the database")
	fl.StringVar(&f.database, "database", "", "database file for --record (default: config database)")
	return c
}

// checkBaseURL accepts only absolute http(s) URLs.
func checkBaseURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--base-url %q: want an absolute http(s) URL like http://127.0.0.1:8085", s)
	}
	return nil
}

func (a *app) runJourneys(ctx context.Context, paths []string, f runFlags) error {
	cfg, err := loadConfig(a.configPath)
	if err != nil {
		return badInput(err)
	}
	if f.baseURL != "" {
		if err := checkBaseURL(f.baseURL); err != nil {
			return badInput(err)
		}
	}
	if f.parallel < 0 {
		return badInput(fmt.Errorf("--parallel %d: want 1 or more", f.parallel))
	}
	if f.parallel == 0 {
		f.parallel = cfg.Browser.MaxConcurrent
	}
	if len(paths) == 0 {
		paths = cfg.Journeys
	}
	js, err := journeys.Load(paths...)
	if err != nil {
		return badInput(err)
	}
	js = withTags(js, f.tags)
	if len(js) == 0 {
		return badInput(fmt.Errorf("no journeys to run in %v (tags %v)", paths, f.tags))
	}
	// Report files are checked before any run, so a typo costs no run.
	for _, p := range []struct{ flag, path string }{{"--junit", f.junit}, {"--json", f.json}} {
		if p.path == "" {
			continue
		}
		if err := checkWritable(p.path); err != nil {
			return badInput(fmt.Errorf("%s %s: %w", p.flag, p.path, err))
		}
	}

	// Launch the browser before anything is created: a missing browser is
	// one clear message, with no database left behind, and launch time is
	// not charged to the first run.
	pool, err := a.startBrowser(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()

	var sink runner.Sink
	if f.record {
		db := f.database
		if db == "" {
			db = cfg.Database
		}
		st, err := store.Open(ctx, db, store.WithLogger(a.logger()))
		if err != nil {
			return badInput(err)
		}
		defer st.Close()
		sink = st
	}

	trigger := results.TriggerManual
	if v, ok := a.getenv("CI"); ok && v != "" && v != "false" {
		trigger = results.TriggerCI
	}
	runs, err := a.execute(ctx, pool, cfg, js, runOptions{baseURL: f.baseURL, parallel: f.parallel, sink: sink, trigger: trigger})
	if err != nil {
		return err
	}
	return a.report(runs, f)
}

// runOptions are what execute needs besides the journeys.
type runOptions struct {
	baseURL  string
	parallel int
	sink     runner.Sink
	trigger  results.Trigger
}

// startBrowser launches the one browser of this command.
func (a *app) startBrowser(ctx context.Context, cfg *config) (*browser.Pool, error) {
	pool := browser.New(browser.Options{Path: cfg.Browser.Path, Logger: a.logger()})
	if err := pool.Start(ctx); err != nil {
		pool.Close()
		return nil, badInput(err)
	}
	return pool, nil
}

// execute runs every journey with live progress and returns the runs in
// journey order.
func (a *app) execute(ctx context.Context, pool *browser.Pool, cfg *config, js []*journeys.Journey, o runOptions) ([]*results.Run, error) {
	progress := reports.NewProgress(a.stdout, reports.ProgressOptions{Color: a.color()})
	r := runner.New(pool, runner.Options{
		BaseURL:  o.baseURL,
		Trigger:  o.trigger,
		Location: cfg.Location,
		Env:      a.getenv,
		Sink:     o.sink,
		Observer: progress,
		Logger:   a.logger(),
	})
	runs := make([]*results.Run, len(js))
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		saveErr error
	)
	sem := make(chan struct{}, o.parallel)
	for i, j := range js {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			run, err := r.Run(ctx, j)
			mu.Lock()
			runs[i], saveErr = run, errors.Join(saveErr, err)
			mu.Unlock()
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		return runs, &exitError{code: exitInterrupted, err: errors.New("interrupted")}
	}
	if saveErr != nil {
		// Nothing recorded may be lost silently.
		return runs, badInput(saveErr)
	}
	return runs, nil
}

// report writes artifacts, the summary and report files, and picks the
// exit code.
func (a *app) report(runs []*results.Run, f runFlags) error {
	if f.artifacts != "" {
		if err := reports.WriteArtifacts(f.artifacts, runs); err != nil {
			return badInput(err)
		}
	}
	fmt.Fprintln(a.stdout)
	if err := reports.Summary(a.stdout, runs, reports.ProgressOptions{Color: a.color()}); err != nil {
		return err
	}
	write := func(path string, fn func(*os.File) error) error {
		if path == "" {
			return nil
		}
		file, err := os.Create(path) // its folder was made by checkWritable
		if err != nil {
			return err
		}
		if err := fn(file); err != nil {
			file.Close()
			return fmt.Errorf("write %s: %w", path, err)
		}
		return file.Close()
	}
	if err := write(f.junit, func(w *os.File) error { return reports.WriteJUnit(w, runs) }); err != nil {
		return badInput(err)
	}
	if err := write(f.json, func(w *os.File) error { return reports.WriteJSON(w, runs) }); err != nil {
		return badInput(err)
	}
	if code := reports.ExitCode(runs); code != reports.ExitOK {
		return &exitError{code: code}
	}
	return nil
}

// checkWritable makes sure a report file can be created, without leaving
// a file behind.
func checkWritable(path string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".waymark-check-*")
	if err != nil {
		return err
	}
	f.Close()
	return os.Remove(f.Name())
}

// withTags keeps journeys that carry at least one of tags (all when none).
func withTags(js []*journeys.Journey, tags []string) []*journeys.Journey {
	if len(tags) == 0 {
		return js
	}
	var out []*journeys.Journey
	for _, j := range js {
		for _, t := range tags {
			if slices.Contains(j.Tags, t) {
				out = append(out, j)
				break
			}
		}
	}
	return out
}

// color is on for a terminal unless NO_COLOR is set.
func (a *app) color() bool {
	if _, ok := a.getenv("NO_COLOR"); ok {
		return false
	}
	f, ok := a.stdout.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func (a *app) validateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "validate [PATH…]",
		Short: "Check journeys; every problem as file:line:col",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				cfg, err := loadConfig(a.configPath)
				if err != nil {
					return badInput(err)
				}
				args = cfg.Journeys
			}
			js, err := journeys.Load(args...)
			if err != nil {
				return badInput(err)
			}
			for _, j := range js {
				for _, w := range j.Warnings {
					fmt.Fprintln(a.stderr, "warning:", w)
				}
				fmt.Fprintf(a.stdout, "ok  %s  %s (%d steps)\n", j.File, j.Name, len(j.Steps))
			}
			return nil
		},
	}
}
