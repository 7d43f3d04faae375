// Command waymark runs synthetic user journeys in headless Chromium: once
// in CI (`waymark run`), or checked (`waymark validate`), or against the
// built-in demo shop (`waymark demo`).
//
// This package only wires the others together; it holds no logic of its own.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"
	// Schedules may name a time zone (CRON_TZ=Europe/London …); a static
	// binary on a host without a zone database must still know them.
	_ "time/tzdata"

	"github.com/spf13/cobra"

	"github.com/waymarkhq/waymark/reports"
)

// exitInterrupted is the exit code after Ctrl-C or SIGTERM; the codes of a
// verdict (0, 1, 2) are reports.ExitOK, ExitFailed and ExitBadInput.
const exitInterrupted = reports.ExitInterrupted

// exitError carries an exit code out of a command.
type exitError struct {
	code int
	err  error // nil: nothing more to print
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

// badInput marks err as the user's to fix: exit 2.
func badInput(err error) error { return &exitError{code: reports.ExitBadInput, err: err} }

// app is what every command shares.
type app struct {
	stdout, stderr io.Writer
	configPath     string
	verbose        bool
	info           bool // log at info level without -v (serve says what it does)
	getenv         func(string) (string, bool)

	logOnce sync.Once
	log     *slog.Logger
}

// logger is the one logger of the command: one handler, so lines written
// from several goroutines never interleave.
func (a *app) logger() *slog.Logger {
	a.logOnce.Do(func() {
		level := slog.LevelWarn
		if a.info {
			level = slog.LevelInfo
		}
		if a.verbose {
			level = slog.LevelDebug
		}
		a.log = slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: level}))
	})
	return a.log
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.LookupEnv)
	stop()
	os.Exit(code)
}

// run executes the command line and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) (string, bool)) int {
	a := &app{stdout: stdout, stderr: stderr, getenv: getenv}
	root := &cobra.Command{
		Use:           "waymark",
		Short:         "Synthetic user-journey monitor: shoppers made of YAML, in headless Chromium",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&a.configPath, "config", "", "config file (default ./waymark.yaml when present)")
	root.PersistentFlags().BoolVarP(&a.verbose, "verbose", "v", false, "log what the monitor does")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return badInput(err) })
	root.AddCommand(a.runCmd(), a.validateCmd(), a.serveCmd(), a.demoCmd(), a.runsCmd(), a.statusCmd())
	root.AddCommand(a.maintenanceCmd(), a.incidentsCmd())
	root.AddCommand(a.pruneCmd(), a.reportCmd())
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)

	err := root.ExecuteContext(ctx)
	if err == nil {
		return reports.ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(stderr, "waymark:", ee.err)
		}
		return ee.code
	}
	// Unknown commands and other cobra errors are bad input too.
	fmt.Fprintln(stderr, "waymark:", err)
	return reports.ExitBadInput
}
