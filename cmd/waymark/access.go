package main

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"unicode/utf8"

	"github.com/waymarkhq/waymark/cmd/waymark/config"
)

// minTokenLen is the shortest server.token `waymark serve` takes: the
// token is all that stands between the network and the dashboard's
// actions, so it must not be guessable.
const minTokenLen = 16

// checkAccess decides who may reach the dashboard of `waymark serve`
// before anything starts, and expands server.token in cfg in place (it is
// usually ${env:WAYMARK_TOKEN}, kept as written in the config).
//
// On a loopback address the dashboard may be open. On any other it must
// have a token, unless insecure (--insecure) says that an open dashboard
// is wanted there (a private network, a proxy that does the checking). A
// token must be at least minTokenLen visible ASCII characters, whatever
// the address. Every refusal is bad input (exit 2) and says which
// settings to change.
func (a *app) checkAccess(cfg *config.Config, insecure bool) error {
	srv, err := cfg.Server.Expanded(a.getenv)
	if err != nil {
		return badInput(err)
	}
	if err := checkToken(srv.Token); err != nil {
		return badInput(err)
	}
	cfg.Server.Token = srv.Token
	if cfg.Server.Token != "" || isLoopbackListen(cfg.Server.Listen) {
		return nil
	}
	if !insecure {
		return badInput(fmt.Errorf("the dashboard would listen on %s (server.listen or --listen), beyond this machine, "+
			"with no server.token: anyone who reaches it could acknowledge and resolve incidents and start runs. "+
			"Set server.token (e.g. server.token: ${env:WAYMARK_TOKEN}, with a long random WAYMARK_TOKEN), "+
			"listen on 127.0.0.1, or give --insecure to serve it open on purpose", cfg.Server.Listen))
	}
	a.logger().Warn("the dashboard is open to anyone who reaches it: --insecure, no server.token", "listen", cfg.Server.Listen)
	return nil
}

// checkToken says what is wrong with an expanded server.token, or nil;
// an empty token is no token.
func checkToken(tok string) error {
	if tok == "" {
		return nil
	}
	for _, c := range tok {
		if c <= ' ' || c > '~' {
			return errors.New("server.token: holds spaces, control or non-ASCII characters: " +
				"want visible ASCII only, so it fits an Authorization header (e.g. the output of `openssl rand -hex 32`)")
		}
	}
	if n := utf8.RuneCountInString(tok); n < minTokenLen {
		return fmt.Errorf("server.token: %d characters is too short: want at least %d (e.g. the output of `openssl rand -hex 32`)", n, minTokenLen)
	}
	return nil
}

// isLoopbackListen says whether a listen address (host:port) is on a
// loopback interface only: localhost, 127.0.0.0/8 or ::1. An empty host,
// 0.0.0.0, :: and every other name or address reach beyond the machine.
func isLoopbackListen(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.WithZone("").IsLoopback()
}
