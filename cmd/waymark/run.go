package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/waymarkhq/waymark/cmd/waymark/config"
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

// checkBaseURL accepts only absolute http(s) URLs with a host name and,
// when they give one, a port from 1 to 65535. Any other URL no browser can
// reach, and would only show as an error run of every journey, stored.
func checkBaseURL(s string) error {
	const want = "want an absolute http(s) URL like http://127.0.0.1:8085"
	u, err := url.Parse(s)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return fmt.Errorf("--base-url %q: %s", s, want)
	case u.Hostname() == "":
		return fmt.Errorf("--base-url %q: no host name: %s", s, want)
	}
	if p := u.Port(); p != "" { // url.Parse lets only digits through
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("--base-url %q: port %s: want a port from 1 to 65535", s, p)
		}
	}
	return nil
}

func (a *app) runJourneys(ctx context.Context, paths []string, f runFlags) error {
	cfg, err := a.loadConfig()
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
		f.parallel = cfg.Browser.Concurrency()
	}
	if len(paths) == 0 {
		paths = cfg.Journeys
	}
	js, err := journeys.Load(paths...)
	if err != nil {
		return badInput(err)
	}
	js = journeys.WithTags(js, f.tags...)
	if len(js) == 0 {
		return badInput(fmt.Errorf("no journeys to run in %v (tags %v)", paths, f.tags))
	}
	// A secret or environment variable that is not set is the user's to
	// fix: say so now, with where each is used, not as an error run later.
	if err := checkEnv(js, a.getenv); err != nil {
		return badInput(err)
	}
	// Output paths are checked before any run, so a typo costs no run and
	// hides no outcome; the checks create nothing.
	outputs := []struct {
		flag, path string
		check      func(string) error
		want       string
	}{
		{"--junit", f.junit, checkWritable, "a file in a directory waymark can write"},
		{"--json", f.json, checkWritable, "a file in a directory waymark can write"},
		{"--artifacts", f.artifacts, checkDir, "a directory waymark can create or write"},
	}
	for _, o := range outputs {
		if o.path == "" {
			continue
		}
		if err := o.check(o.path); err != nil {
			return badInput(fmt.Errorf("%s %q: %w: want %s", o.flag, o.path, err, o.want))
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
			if f.database != "" {
				return badInput(fmt.Errorf("--database: %w", err))
			}
			return badInput(fmt.Errorf("database (from the config): %w", err))
		}
		defer st.Close()
		sink = st
	}

	trigger := results.TriggerManual
	if v, ok := a.getenv("CI"); ok && v != "" && v != "false" {
		trigger = results.TriggerCI
	}
	runs, err := a.execute(ctx, pool, cfg, js, runOptions{baseURL: f.baseURL, parallel: f.parallel, sink: sink, trigger: trigger})
	// What finished is reported even after an interrupt or a failed save.
	rerr := a.report(runs, f)
	if err != nil {
		return err
	}
	return rerr
}

// runOptions are what execute needs besides the journeys.
type runOptions struct {
	baseURL  string
	parallel int
	sink     runner.Sink
	trigger  results.Trigger
}

// startBrowser launches the one browser of this command, or connects to
// the remote ones of browser.url or browser.urls.
func (a *app) startBrowser(ctx context.Context, cfg *config.Config) (*browser.Pool, error) {
	bc, err := cfg.Browser.Expanded(a.getenv)
	if err != nil {
		return nil, badInput(err)
	}
	opts := browser.Options{Path: bc.Path, Logger: a.logger()}
	header := make(map[string][]string, len(bc.Headers)) // an http.Header; the pool canonicalises the names
	for name, v := range bc.Headers {
		header[name] = []string{v}
	}
	if bc.URL != "" {
		opts.Remote = append(opts.Remote, browser.Remote{URL: bc.URL, Header: header})
	}
	for _, r := range bc.URLs {
		opts.Remote = append(opts.Remote, browser.Remote{URL: r.URL, Header: header, Slots: r.Slots})
	}
	pool := browser.New(opts)
	if err := pool.Start(ctx); err != nil {
		pool.Close()
		return nil, badInput(err)
	}
	return pool, nil
}

// execute runs every journey with live progress, at most o.parallel at
// once, and returns every attempt of every run that started, in journey
// order. After an interrupt it returns what finished with exit code 130.
func (a *app) execute(ctx context.Context, pool *browser.Pool, cfg *config.Config, js []*journeys.Journey, o runOptions) ([]*results.Run, error) {
	progress := reports.NewProgress(a.stdout, reports.ProgressOptions{Color: a.color()})
	r := runner.New(pool, runner.Options{
		BaseURL:       o.baseURL,
		Trigger:       o.trigger,
		Location:      cfg.Location,
		Env:           a.getenv,
		Sink:          o.sink,
		Observer:      progress,
		Logger:        a.logger(),
		MaxConcurrent: o.parallel,
	})
	runs, saveErr := r.RunAll(ctx, js)
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
		// Its folder may not exist yet: the checks before the run create
		// nothing.
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		file, err := os.Create(path)
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

// checkEnv reports every ${env:…} without default and ${secret:…} that
// the journeys use and the environment lacks, each with its file:line.
func checkEnv(js []*journeys.Journey, getenv func(string) (string, bool)) error {
	var errs []error
	for _, j := range js {
		if _, err := journeys.NewScope(j, journeys.RunInfo{}, getenv); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// checkWritable makes sure a report file can be written at path, and
// creates nothing: an existing file must open for writing (left as it is:
// it is not truncated); a new one needs checkDir of its directory, whose
// missing part runJourneys makes once every check has passed.
func checkWritable(path string) error {
	fi, err := os.Stat(path)
	switch {
	case err != nil:
		return checkDir(filepath.Dir(path))
	case fi.IsDir():
		return errors.New("is a directory")
	case !fi.Mode().IsRegular():
		return nil // a device such as /dev/stdout; opening a FIFO could block
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return errors.New("the file is not writable")
	}
	return f.Close()
}

// checkDir makes sure dir is, or can be made, a directory waymark can
// write files in, and creates nothing: the nearest of dir and its parents
// that can be seen must be a directory in which a file can be created.
// That is proved by creating a file and removing it: permission bits do
// not tell, as root ignores them while /proc, an immutable directory or a
// read-only mount refuse root too.
func checkDir(dir string) error {
	d := filepath.Clean(dir)
	for {
		fi, err := os.Stat(d)
		if err == nil && !fi.IsDir() {
			return fmt.Errorf("%q is not a directory", d)
		}
		if err == nil {
			break
		}
		// Missing, or behind a file or a directory that cannot be
		// searched: the parent tells which.
		parent := filepath.Dir(d)
		if parent == d {
			return err
		}
		d = parent
	}
	f, err := os.CreateTemp(d, ".waymark-check-*")
	if err != nil {
		return fmt.Errorf("directory %q is not writable", d)
	}
	f.Close()
	return os.Remove(f.Name())
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
				cfg, err := a.loadConfig()
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
