package store

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"

	"github.com/jmoiron/sqlx"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
)

// RiverDriver is River's driver for this store's database, on the store's
// own pool: riversqlite on SQLite, riverdatabasesql over pgx on
// PostgreSQL. Both take a *sql.Tx, so jobs inserted with InsertTx(ctx,
// tx.Tx, …) inside Tx commit or roll back with the run.
func (s *Store) RiverDriver() riverdriver.Driver[*sql.Tx] {
	if s.dialect == DialectPostgres {
		return riverdatabasesql.New(s.db.DB)
	}
	return riversqlite.New(s.db.DB)
}

// riverMigrator migrates River's own tables (river_job, river_leader, …)
// on the main line, the only one Waymark uses. River's log lines are left
// out: the store logs what was applied itself.
func (s *Store) riverMigrator() (*rivermigrate.Migrator[*sql.Tx], error) {
	m, err := rivermigrate.New(s.RiverDriver(), &rivermigrate.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, fmt.Errorf("migrate River: %w", err)
	}
	return m, nil
}

// riverTableExists asks, per dialect, whether River has created its
// migration table yet.
var riverTableExists = map[string]string{
	DialectSQLite:   `SELECT COUNT(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'river_migration'`,
	DialectPostgres: `SELECT to_regclass('river_migration') IS NOT NULL`,
}

// checkRiverVersion refuses a database whose River schema is newer than
// the River this binary carries (a newer waymark migrated it): River's
// own Migrate would go on without a word.
func (s *Store) checkRiverVersion(ctx context.Context, q sqlx.QueryerContext, m *rivermigrate.Migrator[*sql.Tx]) error {
	var exists bool
	if err := sqlx.GetContext(ctx, q, &exists, riverTableExists[s.dialect]); err != nil {
		return fmt.Errorf("migrate River: %w", err)
	}
	if !exists {
		return nil
	}
	var current int
	if err := sqlx.GetContext(ctx, q, &current, `SELECT COALESCE(MAX(version), 0) FROM river_migration WHERE line = 'main'`); err != nil {
		return fmt.Errorf("migrate River: read its schema version: %w", err)
	}
	all := m.AllVersions()
	if known := all[len(all)-1].Version; current > known {
		return fmt.Errorf("schema version %d of River's tables is newer than this waymark knows (%d): upgrade waymark", current, known)
	}
	return nil
}

// migrateRiverSQLite applies River's migrations in tx, the transaction
// that applied ours. MigrateTx is deprecated because some of River's
// PostgreSQL migrations cannot share one transaction; SQLite's can (its
// DDL is transactional, and River's own Migrate runs each of them in a
// transaction anyway), and one transaction is the only lock SQLite offers
// to keep two processes from migrating at once.
func (s *Store) migrateRiverSQLite(ctx context.Context, tx *sqlx.Tx) error {
	m, err := s.riverMigrator()
	if err != nil {
		return err
	}
	if err := s.checkRiverVersion(ctx, tx, m); err != nil {
		return err
	}
	//lint:ignore SA1019 see above: on SQLite one transaction is what we want.
	res, err := m.MigrateTx(ctx, tx.Tx, rivermigrate.DirectionUp, nil)
	if err != nil {
		return fmt.Errorf("migrate River: %w", err)
	}
	s.logRiver(ctx, res)
	return nil
}

// migrateRiverPostgres applies River's migrations, each in a transaction
// of its own as River requires; the caller holds the migration lock.
func (s *Store) migrateRiverPostgres(ctx context.Context) error {
	m, err := s.riverMigrator()
	if err != nil {
		return err
	}
	if err := s.checkRiverVersion(ctx, s.db, m); err != nil {
		return err
	}
	res, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	if err != nil {
		return fmt.Errorf("migrate River: %w", err)
	}
	s.logRiver(ctx, res)
	return nil
}

func (s *Store) logRiver(ctx context.Context, res *rivermigrate.MigrateResult) {
	for _, v := range res.Versions {
		s.log.InfoContext(ctx, "applied River migration", "version", v.Version, "name", v.Name)
	}
}
