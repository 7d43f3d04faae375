package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/waymarkhq/waymark/results/store/storetest"
)

// freePort returns a loopback port nothing listens on.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

// silentServer listens on loopback until the test ends, accepting
// connections and never answering, like a host behind a firewall that
// drops packets; it returns its address.
func silentServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String()
}

// TestPostgresOpenErrors opens PostgreSQL databases that cannot serve:
// each error is one line that says what is wrong, where (user, host, port,
// database) and what to check, and never the password.
func TestPostgresOpenErrors(t *testing.T) {
	t.Parallel()
	srv := storetest.Postgres(t)
	admin := srv.Admin(t)
	db := srv.NewDatabase(t)
	hostport := net.JoinHostPort(srv.Host, srv.Port)
	where := func(user, db string) string { return "open database postgres://" + user + "@" + hostport + "/" + db }

	// A role that may connect but not create tables: since PostgreSQL 15
	// only a database's owner may create in its public schema.
	suffix := make([]byte, 4)
	rand.Read(suffix)
	limited, limitedPW := "wm_limited_"+hex.EncodeToString(suffix), "limited-Secret-9"
	if _, err := admin.ExecContext(t.Context(), `CREATE ROLE `+limited+` LOGIN PASSWORD '`+limitedPW+`'`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := srv.Admin(t).ExecContext(context.Background(), `DROP ROLE IF EXISTS `+limited); err != nil {
			t.Error(err)
		}
	})
	refused := freePort(t)
	silent := silentServer(t)

	const secret = "s3cret-Never-Shown"
	tests := []struct {
		name, url, want string
	}{
		{"nothing listens", fmt.Sprintf("postgres://app:%s@127.0.0.1:%d/waymark?sslmode=disable", secret, refused),
			fmt.Sprintf("open database postgres://app@127.0.0.1:%d/waymark: nothing accepts connections at 127.0.0.1:%d: "+
				"check that PostgreSQL runs there and the URL's host and port", refused, refused)},
		{"no answer", fmt.Sprintf("postgres://app@%s/waymark?connect_timeout=1", silent),
			fmt.Sprintf("open database postgres://app@%s/waymark: no answer from %s in time: check the host, the port and any firewall between", silent, silent)},
		{"wrong password", srv.URL(db, srv.User, secret),
			where(srv.User, db) + `: password authentication failed for user "` + srv.User +
				`": check the password (in the URL, PGPASSWORD or ~/.pgpass)`},
		{"no such database", srv.URL("wm_nothing_here", srv.User, srv.Password),
			where(srv.User, "wm_nothing_here") + `: database "wm_nothing_here" does not exist on ` + hostport +
				`: create it (createdb -h ` + srv.Host + ` -p ` + srv.Port + ` -U ` + srv.User +
				` wm_nothing_here) or correct the database name in the URL`},
		{"may not create tables", srv.URL(db, limited, limitedPW),
			where(limited, db) + `: user "` + limited + `" lacks a privilege on database "` + db +
				`" (permission denied for schema public): make it the database's owner (ALTER DATABASE ` + db +
				` OWNER TO ` + limited + `) or grant it (GRANT CREATE ON SCHEMA public TO ` + limited + `)`},
		{"a standby (read-only)", srv.URL(db, srv.User, srv.Password) + "&default_transaction_read_only=on",
			where(srv.User, db) + `: database "` + db + `" on ` + hostport +
				` takes no writes (cannot execute CREATE TABLE in a read-only transaction): connect to the primary server, not a standby`},
		{"not a URL", "postgres://app:" + secret + "@db.example.com:port/waymark",
			`open database: the PostgreSQL URL is not valid: invalid port ":port" after host`},
		{"bad sslmode", "postgres://app:" + secret + "@db.example.com/waymark?sslmode=sometimes",
			"open database: the PostgreSQL URL is not valid: cannot parse `postgres://app:xxxxx@db.example.com/waymark?sslmode=sometimes`: failed to configure TLS (sslmode is invalid)"},
		{"postgresql:// too", "postgresql://app@127.0.0.1:" + strconv.Itoa(refused) + "/waymark?sslmode=disable",
			fmt.Sprintf("open database postgres://app@127.0.0.1:%d/waymark: nothing accepts connections at 127.0.0.1:%d: "+
				"check that PostgreSQL runs there and the URL's host and port", refused, refused)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(t.Context(), tt.url)
			if err == nil {
				s.Close()
				t.Fatalf("Open(%s) succeeded, want %s", tt.url, tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("Open error\n got: %v\nwant: %s", err, tt.want)
			}
			for _, pw := range []string{secret, limitedPW, srv.Password} {
				if strings.Contains(err.Error(), pw) {
					t.Errorf("the error shows a password: %v", err)
				}
			}
		})
	}
}

// TestPostgresUnknownHost names a host that cannot exist (.invalid is
// reserved): the error says which and to check it. The resolver's own
// words vary, so only they are left out of the comparison.
func TestPostgresUnknownHost(t *testing.T) {
	t.Parallel()
	storetest.Postgres(t) // the PostgreSQL tests run together, or not at all
	_, err := Open(t.Context(), "postgres://app@no-such-host.invalid:5432/waymark?connect_timeout=5")
	prefix := `open database postgres://app@no-such-host.invalid:5432/waymark: cannot find host "no-such-host.invalid" (`
	suffix := `): check the host name in the URL`
	if err == nil || !strings.HasPrefix(err.Error(), prefix) || !strings.HasSuffix(err.Error(), suffix) {
		t.Errorf("Open = %v\nwant %s…%s", err, prefix, suffix)
	}
}
