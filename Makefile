# Waymark — make targets. `make demo` and `make test` work on a fresh
# Debian/Ubuntu machine with Go; `make setup` installs Chromium and
# PostgreSQL (as root) or says how.

GO        ?= go
BIN       ?= bin/waymark
PKGS      ?= ./...
BENCHTIME ?= 20x
BENCHCOUNT?= 6
STATICCHECK_VERSION ?= latest

# The browser binaries Waymark looks for, in order (see runner/browser).
CHROMIUM_NAMES := chromium chromium-browser google-chrome google-chrome-stable

# The tests run under a throwaway PostgreSQL cluster that Debian's
# pg_virtualenv creates (in a temporary directory, -t, even as root), sets
# PGHOST, PGPORT, PGUSER, PGPASSWORD and PGDATABASE for, and removes when
# the tests end. The store's tests make a database of their own each on
# it, so parallel tests can take many connections. Set PG_VIRTUALENV= to
# run against the server your own PG* variables name instead.
PG_VIRTUALENV ?= pg_virtualenv -t -o max_connections=300

.PHONY: all setup setup-chromium setup-postgres build test lint demo bench bench-serve clean

all: build

## setup: install Chromium and PostgreSQL when missing (needs root and apt-get), or say how.
setup: setup-chromium setup-postgres

setup-chromium:
	@for b in $(CHROMIUM_NAMES); do \
	  if command -v $$b >/dev/null 2>&1; then echo "browser: $$(command -v $$b) ($$($$b --version 2>/dev/null))"; exit 0; fi; \
	done; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "Chromium is missing; installing Debian's chromium package"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null && chromium --version; \
	else \
	  echo "Chromium is missing. Install it as root: apt-get update && apt-get install -y chromium" >&2; \
	  echo "(or point Waymark at a Chrome/Chromium binary with browser.path in waymark.yaml or WAYMARK_BROWSER_PATH)" >&2; \
	  exit 1; \
	fi

# PostgreSQL: a server and pg_virtualenv (postgresql-common), for the store's
# tests against PostgreSQL.
setup-postgres:
	@pg=$$(ls -d /usr/lib/postgresql/*/bin/postgres 2>/dev/null | sort -V | tail -1); \
	if [ -n "$$pg" ] && command -v pg_virtualenv >/dev/null 2>&1; then \
	  echo "postgresql: $$pg ($$($$pg --version)), pg_virtualenv: $$(command -v pg_virtualenv)"; exit 0; \
	fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "PostgreSQL is missing; installing Debian's postgresql package"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null && command -v pg_virtualenv; \
	else \
	  echo "PostgreSQL is missing. Install it as root: apt-get update && apt-get install -y postgresql" >&2; \
	  echo "(the tests run against a throwaway server started by pg_virtualenv, from the postgresql-common package it brings)" >&2; \
	  exit 1; \
	fi

## build: one static binary, no cgo.
build:
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN) ./cmd/waymark

## test: the whole suite, real Chromium and a throwaway PostgreSQL included, with the race detector.
test: setup
	@test -z "$$(gofmt -l . | tee /dev/stderr)" || (echo "gofmt: files above need formatting" >&2; exit 1)
	$(GO) vet $(PKGS)
	$(PG_VIRTUALENV) $(GO) test -race -timeout 12m $(PKGS)

## lint: gofmt, go vet and staticcheck.
lint:
	@test -z "$$(gofmt -l . | tee /dev/stderr)" || (echo "gofmt: files above need formatting" >&2; exit 1)
	$(GO) vet $(PKGS)
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) $(PKGS)

## demo: build, install Chromium if missing, then the tour (waymark demo): the demo shop, serve, an incident.
demo: setup build
	./$(BIN) demo

## bench: the guest-checkout journey through the runner vs the same actions straight through chromedp.
bench: setup
	mkdir -p out
	$(GO) test -run '^$$' -bench 'BenchmarkGuestCheckout' -benchtime $(BENCHTIME) -count $(BENCHCOUNT) ./runner/ > out/bench.txt; cat out/bench.txt
	$(GO) run golang.org/x/perf/cmd/benchstat@latest -col /impl out/bench.txt | tee out/benchstat.txt

## bench-serve: `waymark serve` at scale and real journeys per minute (docs/performance.md); about 20 minutes.
# 10,000 journeys @every 1m on a no-op runner, River alone and the engine,
# on SQLite and on a throwaway PostgreSQL (BenchmarkDispatch: schedule lag,
# CPU per 1,000 runs); the agent's CPU with nothing due (BenchmarkIdle);
# then real guest-checkout journeys in Chromium at max_concurrent 1 to 4
# (BenchmarkThroughput). Each measures a wall-clock period once, hence
# -benchtime 1x. The by-hand variants are in docs/performance.md.
SERVE_PERIOD      ?= 45s
SERVE_IDLE        ?= 15s
THROUGHPUT_PERIOD ?= 45s
bench-serve: setup
	mkdir -p out
	$(PG_VIRTUALENV) $(GO) test -run '^$$' -bench '^(BenchmarkDispatch|BenchmarkIdle)$$' \
	  -benchtime 1x -timeout 30m ./runner/schedule/ -serve.period=$(SERVE_PERIOD) -serve.idle=$(SERVE_IDLE) > out/bench-serve.txt; \
	  st=$$?; cat out/bench-serve.txt; test $$st = 0
	$(GO) test -run '^$$' -bench 'BenchmarkThroughput' -benchtime 1x -timeout 30m ./runner/ \
	  -throughput.period=$(THROUGHPUT_PERIOD) > out/bench-throughput.txt; st=$$?; cat out/bench-throughput.txt; test $$st = 0

clean:
	rm -rf bin out
