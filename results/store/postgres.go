package store

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/jmoiron/sqlx"
)

// connectTimeout bounds a connection attempt when the URL sets no
// connect_timeout: a host that drops packets would otherwise hold `waymark
// serve` at start for the system's TCP timeout, minutes.
const connectTimeout = 10 * time.Second

// openPostgres opens the PostgreSQL database rawURL names into s, through
// pgx's database/sql driver so that the same sqlx code serves both
// dialects and River's riverdatabasesql driver shares the pool.
//
// As with libpq, what the URL leaves out comes from the PG* environment
// variables (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGSSLMODE…) and a
// password may come from ~/.pgpass.
func openPostgres(ctx context.Context, s *Store, rawURL string) (*Store, error) {
	s.dialect = DialectPostgres
	u, err := url.Parse(rawURL)
	if err != nil {
		// url.Error quotes the URL, password included: keep only the reason.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return nil, fmt.Errorf("open database: the PostgreSQL URL is not valid: %w", err)
	}
	cfg, err := pgx.ParseConfig(rawURL)
	if err != nil {
		msg := err.Error()
		var perr *pgconn.ParseConfigError
		if errors.As(err, &perr) {
			msg = strings.ReplaceAll(msg, perr.ConnString, u.Redacted())
		}
		return nil, fmt.Errorf("open database: the PostgreSQL URL is not valid: %s", msg)
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = connectTimeout
	}
	s.where = pgWhere(&cfg.Config)
	// pgx prepares every statement and PostgreSQL then switches to a
	// generic plan, one that ignores the values bound: River's "running
	// jobs of this journey" (state = running, a handful of rows) then
	// walks the whole job table in id order, 165ms a run at 10,000
	// journeys a minute (docs/performance.md). A custom plan per query
	// costs a fraction of a millisecond of planning. A URL that sets
	// plan_cache_mode itself keeps its own.
	if _, ok := cfg.RuntimeParams["plan_cache_mode"]; !ok {
		cfg.RuntimeParams["plan_cache_mode"] = "force_custom_plan"
	}
	db := sqlx.NewDb(stdlib.OpenDB(*cfg), "pgx")
	// River's workers, its maintenance and our writes each hold a
	// connection for a moment; keep some open rather than dial (and
	// authenticate) again for each.
	db.SetMaxIdleConns(8)
	db.SetConnMaxIdleTime(5 * time.Minute)
	s.db = db
	if err := s.start(ctx, func(err error) error { return diagnosePostgres(&cfg.Config, err) }); err != nil {
		db.Close()
		return nil, fmt.Errorf("open database %s: %w", s.where, err)
	}
	return s, nil
}

// pgWhere names the database of cfg for errors: a URL with the user,
// host, port and database, never the password.
func pgWhere(cfg *pgconn.Config) string {
	u := url.URL{Scheme: "postgres", User: url.User(cfg.User), Path: "/" + cfg.Database}
	hostport := net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port)))
	if strings.HasPrefix(cfg.Host, "/") { // a Unix socket directory
		u.RawQuery = "host=" + cfg.Host + "&port=" + strconv.Itoa(int(cfg.Port))
	} else {
		u.Host = hostport
	}
	return u.String()
}

// diagnosePostgres turns a failure to connect to, migrate or write the
// database of cfg into one line saying what is wrong and what to check. It
// falls back to the driver's error, which carries no password.
func diagnosePostgres(cfg *pgconn.Config, err error) error {
	hostport := net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port)))
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "28P01": // invalid_password
			return fmt.Errorf("password authentication failed for user %q: check the password (in the URL, PGPASSWORD or ~/.pgpass)", cfg.User)
		case "3D000": // invalid_catalog_name
			return fmt.Errorf("database %q does not exist on %s: create it (createdb -h %s -p %d -U %s %s) or correct the database name in the URL",
				cfg.Database, hostport, cfg.Host, cfg.Port, cfg.User, cfg.Database)
		case "28000": // invalid_authorization_specification: no such role, or pg_hba.conf refuses
			return fmt.Errorf("the server refused user %q: %s: check the user name and the server's pg_hba.conf", cfg.User, pgErr.Message)
		case "42501": // insufficient_privilege
			return fmt.Errorf("user %q lacks a privilege on database %q (%s): make it the database's owner (ALTER DATABASE %s OWNER TO %s) or grant it (GRANT CREATE ON SCHEMA public TO %s)",
				cfg.User, cfg.Database, pgErr.Message, cfg.Database, cfg.User, cfg.User)
		case "25006": // read_only_sql_transaction
			return fmt.Errorf("database %q on %s takes no writes (%s): connect to the primary server, not a standby", cfg.Database, hostport, pgErr.Message)
		case "53300": // too_many_connections
			return fmt.Errorf("the server at %s has no connection to spare (%s): raise max_connections or use fewer agents", hostport, pgErr.Message)
		case "57P03": // cannot_connect_now
			return fmt.Errorf("the server at %s does not accept connections yet (%s): try again when it has started", hostport, pgErr.Message)
		}
	}
	var dnsErr *net.DNSError
	switch {
	case errors.As(err, &dnsErr):
		return fmt.Errorf("cannot find host %q (%s): check the host name in the URL", cfg.Host, dnsErr.Err)
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("nothing accepts connections at %s: check that PostgreSQL runs there and the URL's host and port", hostport)
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return fmt.Errorf("no answer from %s in time: check the host, the port and any firewall between", hostport)
	}
	var cerr *pgconn.ConnectError
	if errors.As(err, &cerr) {
		// Several addresses or an sslmode fallback make a multi-line error.
		return fmt.Errorf("cannot connect to %s: %s", hostport, strings.Join(strings.Fields(errors.Unwrap(cerr).Error()), " "))
	}
	return err
}

// isTimeout reports whether err is a network timeout.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
