package store

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/jmoiron/sqlx"
	"github.com/riverqueue/river"
)

// noteArgs is a River job a run's transaction inserts, as an incident's
// notification will be.
type noteArgs struct {
	Run string `json:"run"`
}

func (noteArgs) Kind() string { return "note" }

// TestTxCommitsRunAndJobsTogether stores a run and inserts a River job in
// one Tx, as the sink will with a run, its incident change and the jobs
// that notify about it: both are stored when fn succeeds, neither when it
// fails or panics.
func TestTxCommitsRunAndJobsTogether(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect string) {
		s := openNew(t, dialect)
		ctx := t.Context()
		// An insert-only client: no queues, no workers.
		client, err := river.NewClient(s.RiverDriver(), &river.Config{})
		if err != nil {
			t.Fatal(err)
		}
		errLater := errors.New("the incident policy failed")
		tests := []struct {
			name    string
			runID   string
			after   func() error // runs after the run and the job went in
			wantErr error
			stored  bool
		}{
			{"committed", "r1", func() error { return nil }, nil, true},
			{"failed after", "r2", func() error { return errLater }, errLater, false},
			{"panicked after", "r3", func() error { panic("boom") }, nil, false},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var err error
				func() {
					defer func() {
						if r := recover(); r != nil && r != "boom" {
							panic(r)
						}
					}()
					err = s.Tx(ctx, func(tx *sqlx.Tx) error {
						if err := s.SaveRunTx(ctx, tx, journey("checkout", "h"), fullRun(tt.runID, "checkout", start(), []byte(tt.runID))); err != nil {
							return err
						}
						if _, err := client.InsertTx(ctx, tx.Tx, noteArgs{Run: tt.runID}, nil); err != nil {
							return err
						}
						return tt.after()
					})
				}()
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Tx = %v, want %v", err, tt.wantErr)
				}
				_, rerr := s.Run(ctx, tt.runID)
				list, err := client.JobList(ctx, river.NewJobListParams().Kinds("note").First(100))
				if err != nil {
					t.Fatal(err)
				}
				jobs := 0
				for _, j := range list.Jobs {
					var args noteArgs
					if err := json.Unmarshal(j.EncodedArgs, &args); err != nil {
						t.Fatal(err)
					}
					if args.Run == tt.runID {
						jobs++
					}
				}
				if tt.stored && (rerr != nil || jobs != 1) || !tt.stored && (!errors.Is(rerr, ErrNotFound) || jobs != 0) {
					t.Errorf("after Tx: Run = %v and %d jobs, want stored = %v", rerr, jobs, tt.stored)
				}
			})
		}
		// The Store is still usable after a panic: the transaction was
		// rolled back and, on SQLite, the write lock released.
		if err := s.SaveRun(ctx, nil, fullRun("r4", "checkout", start(), nil)); err != nil {
			t.Fatal(err)
		}
	})
}
