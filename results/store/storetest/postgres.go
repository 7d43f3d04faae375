package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
)

// PostgresServer is a PostgreSQL server tests may create databases on, as
// the PG* environment variables describe it (pg_virtualenv, which `make
// test` runs the tests under, sets them for a throwaway cluster).
type PostgresServer struct {
	Host, Port, User, Password, Database string
}

// Postgres returns the server of the PG* variables. Without them (go test
// run by hand) it skips the test, saying to run `make test`; but when CI
// is set it fails the test instead, so that CI cannot pass with the
// PostgreSQL tests skipped.
func Postgres(t testing.TB) PostgresServer {
	t.Helper()
	srv := PostgresServer{
		Host: os.Getenv("PGHOST"), Port: os.Getenv("PGPORT"), User: os.Getenv("PGUSER"),
		Password: os.Getenv("PGPASSWORD"), Database: os.Getenv("PGDATABASE"),
	}
	if srv.Host == "" || srv.User == "" {
		const why = "PostgreSQL tests need a server in PGHOST, PGPORT, PGUSER, PGPASSWORD and PGDATABASE: " +
			"run `make test`, which starts a throwaway one with pg_virtualenv (Debian's postgresql-common)"
		if ci := os.Getenv("CI"); ci != "" && ci != "false" && ci != "0" {
			t.Fatal(why + " (CI is set, so this is a failure, not a skip)")
		}
		t.Skip(why)
	}
	if srv.Port == "" {
		srv.Port = "5432"
	}
	if srv.Database == "" {
		srv.Database = "postgres"
	}
	return srv
}

// URL is the postgres:// URL of database db on the server, as user with
// password (none when password is empty), without TLS: the server is a
// local throwaway one.
func (srv PostgresServer) URL(db, user, password string) string {
	u := url.URL{Scheme: "postgres", User: url.User(user), Path: "/" + db}
	if password != "" {
		u.User = url.UserPassword(user, password)
	}
	q := url.Values{"sslmode": {"disable"}}
	if strings.HasPrefix(srv.Host, "/") { // a Unix socket directory
		q.Set("host", srv.Host)
		q.Set("port", srv.Port)
	} else {
		u.Host = net.JoinHostPort(srv.Host, srv.Port)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// Admin opens the server's own database as the PG* user, for setting up
// what a test needs (roles, databases), and closes it when the test ends.
func (srv PostgresServer) Admin(t testing.TB) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", srv.URL(srv.Database, srv.User, srv.Password))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// notIdent is what a test name may hold that a database name may not.
var notIdent = regexp.MustCompile(`[^a-z0-9]+`)

// NewDatabase creates an empty database for this test and drops it when the
// test ends, so parallel tests never share one; it returns its name. The
// database sorts text with ICU's en-US rules where the server has ICU
// (PostgreSQL 15 and later), as production databases often do, so that a
// query relying on byte order shows up.
func (srv PostgresServer) NewDatabase(t testing.TB) string {
	t.Helper()
	admin := srv.Admin(t)
	suffix := make([]byte, 4)
	rand.Read(suffix)
	name := notIdent.ReplaceAllString(strings.ToLower(t.Name()), "_")
	if len(name) > 40 {
		name = name[len(name)-40:]
	}
	name = "wm_" + strings.Trim(name, "_") + "_" + hex.EncodeToString(suffix)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := admin.ExecContext(ctx, `CREATE DATABASE `+name+
		` TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C' LOCALE_PROVIDER icu ICU_LOCALE 'en-US'`); err != nil {
		if _, err := admin.ExecContext(ctx, `CREATE DATABASE `+name); err != nil {
			t.Fatalf("create test database %s: %v", name, err)
		}
	}
	t.Cleanup(func() {
		// A fresh pool: the test's admin pool may be closed by now.
		db, err := sql.Open("pgx", srv.URL(srv.Database, srv.User, srv.Password))
		if err != nil {
			t.Error(err)
			return
		}
		defer db.Close()
		if _, err := db.ExecContext(context.Background(), `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	return name
}

// PostgresURL returns the URL of a new, empty database of its own for this
// test, as the PG* user; see Postgres for when it skips.
func PostgresURL(t testing.TB) string {
	t.Helper()
	srv := Postgres(t)
	return srv.URL(srv.NewDatabase(t), srv.User, srv.Password)
}
