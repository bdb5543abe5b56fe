#!/usr/bin/env bash
# The data chain beside its baselines, in the same run (docs/benchmarks.md):
#
#   - civicflow.publish into a SQLite release table vs the sqlite3 CLI's
#     own `.import` of the same CSV (into a file and into :memory:);
#   - civicflow.ingest + civicflow.validate of a Windows-1252 file vs
#     POST /api/v1/validate of the same file over HTTP;
#   - the release loader vs plain INSERT statements, on SQLite and on
#     PostgreSQL (COPY).
#
#   bench/release.sh                        # 200,000 rows, 3 iterations
#   ROWS=1000000 COUNT=5 bench/release.sh
#
# Environment:
#   ROWS               rows of the generated files (default 200000)
#   LOAD_ROWS          rows of the loader comparison (default 200000: the plain
#                      INSERT baseline on SQLite runs at ~2,000 rows/s)
#   COUNT              iterations of each benchmark; medians are reported (default 3)
#   TEST_POSTGRES_URL  PostgreSQL for the loader benchmark (default
#                      postgres://postgres@127.0.0.1:5432/test?sslmode=disable;
#                      skipped when it does not answer)
#
# Needs go; installs Debian's sqlite3 package when the CLI is missing (as
# root), else the sqlite3 comparison is skipped with a message.
set -euo pipefail
cd "$(dirname "$0")/.."

ROWS=${ROWS:-200000}
LOAD_ROWS=${LOAD_ROWS:-200000}
COUNT=${COUNT:-3}
export TEST_POSTGRES_URL=${TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}

log() { printf '==> %s\n' "$*" >&2; }

if ! command -v sqlite3 >/dev/null 2>&1; then
	if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
		log "installing the sqlite3 command-line tool (Debian package sqlite3)"
		apt-get update -qq >&2 || true
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sqlite3 >&2
	else
		log "sqlite3 is not installed and cannot be installed here: its comparison will be skipped"
	fi
fi
command -v sqlite3 >/dev/null 2>&1 && log "$(sqlite3 --version | cut -d' ' -f1-2)"
log "go $(go env GOVERSION), $(nproc) CPUs, load:$(cut -d' ' -f1-3 /proc/loadavg | sed 's/^/ /'), $ROWS rows, $COUNT iterations"

set -x
CIVICFLOW_BENCH_ROWS=$ROWS go test -run '^$' -bench 'BenchmarkPublishVsSQLiteImport|BenchmarkIngestValidateVsValidateEndpoint' \
	-benchtime "${COUNT}x" -timeout 90m ./activities/
CIVICFLOW_BENCH_ROWS=$LOAD_ROWS go test -run '^$' -bench 'BenchmarkReleaseLoad' -benchtime "${COUNT}x" -timeout 90m ./internal/store/
