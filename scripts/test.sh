#!/usr/bin/env bash
# Runs civicflow's whole test suite (browser tests included: screenshots
# land in test-artifacts/screenshots). It uses the PostgreSQL server that
# answers on 127.0.0.1:5432 (or TEST_POSTGRES_URL) and, where none answers,
# installs PostgreSQL from Debian's packages and starts a throw-away server
# on a temporary directory and port. Each test creates and drops its own
# database. Under CI=true, tests that need PostgreSQL fail instead of skipping.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '==> %s\n' "$*" >&2; }

pg_answers() { # URL
	if command -v psql >/dev/null 2>&1; then
		psql "$1" -Atqc 'select 1' >/dev/null 2>&1
	else
		(exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null
	fi
}

apt_install() {
	if [ "$(id -u)" -ne 0 ]; then
		log "need root to install $* (run: sudo apt-get install -y $*)"
		return 1
	fi
	if [ -z "${APT_UPDATED:-}" ]; then
		apt-get update -qq >&2 || true
		APT_UPDATED=1
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}

PG_TMP=""
cleanup() {
	if [ -n "$PG_TMP" ]; then
		log "stopping the temporary PostgreSQL"
		runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_TMP/data" -m immediate stop >/dev/null 2>&1 || true
		rm -rf "$PG_TMP"
	fi
}
trap cleanup EXIT

start_own_postgres() {
	PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)"
	if [ -z "$PG_BIN" ]; then
		log "PostgreSQL is not installed: installing it from Debian's packages"
		apt_install postgresql
		PG_BIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
	fi
	PG_TMP="$(mktemp -d /tmp/civicflow-pg.XXXXXX)"
	chown postgres "$PG_TMP" 2>/dev/null || true
	local port
	port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 55432)"
	log "starting a temporary PostgreSQL on 127.0.0.1:$port"
	runuser -u postgres -- "$PG_BIN/initdb" -D "$PG_TMP/data" -A trust -U postgres >/dev/null
	runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_TMP/data" -l "$PG_TMP/log" -w \
		-o "-h 127.0.0.1 -p $port -k $PG_TMP -c fsync=off -c max_connections=200" start >/dev/null
	export TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
}

if [ -n "${CIVICFLOW_TEST_OWN_PG:-}" ]; then
	start_own_postgres # force the fresh-machine path (used to test this script)
elif [ -z "${TEST_POSTGRES_URL:-}" ]; then
	if pg_answers "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"; then
		export TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
		log "using PostgreSQL on 127.0.0.1:5432"
	else
		start_own_postgres
	fi
fi

# The browser tests (internal/web, internal/browsertest) drive Debian's
# Chromium headless; without it they skip (under CI=true they fail).
if [ -z "${CIVICFLOW_CHROMIUM:-}" ] && ! command -v chromium >/dev/null 2>&1 && [ ! -x /usr/bin/chromium ]; then
	log "Chromium is not installed: installing it from Debian's packages (browser tests)"
	apt_install chromium || log "could not install chromium: the browser tests will be skipped"
fi
export CIVICFLOW_TEST_ARTIFACTS="${CIVICFLOW_TEST_ARTIFACTS:-$PWD/test-artifacts/screenshots}"

if ! command -v go >/dev/null 2>&1; then
	log "Go is required (https://go.dev/dl/)"
	exit 1
fi

log "go vet ./..."
go vet ./...
log "go test ./..."
go test -count=1 -timeout 45m "$@" ./...

# The race detector on the packages where goroutines meet: the workflows
# (activities run concurrently with the interpreter), HTTP handlers, auth
# caches, the store and the activities. It needs cgo and a C compiler.
RACE_PKGS=(./workflows/ ./internal/web/ ./internal/auth/ ./internal/store/ ./activities/)
if ! command -v gcc >/dev/null 2>&1; then
	log "the race detector needs a C compiler: installing gcc from Debian's packages"
	apt_install gcc libc6-dev
fi
log "go test -race ${RACE_PKGS[*]}"
CGO_ENABLED=1 go test -race -count=1 -timeout 40m "${RACE_PKGS[@]}"
