#!/usr/bin/env bash
# Reproduces the figures of README.md and docs/benchmarks.md: one named
# target per figure (or group of figures measured together). Each target
# prints the machine, the load and the exact command before running it, so
# that a figure and its command travel together.
#
#   bench/run.sh                  # lists the targets
#   bench/run.sh interpreter      # one target
#   bench/run.sh tableschema designer
#
# Environment (defaults in brackets):
#   PAIRS  interpreter: interleaved hand-written/interpreter batch pairs [10];
#          engine: interleaved embedded/in-memory pairs [10]
#   ROWS   tableschema*: rows of the generated subventions file [1000000]
#   RUNS   tableschema: interleaved encoding/csv/validate pairs [3]; release: iterations [3];
#          coldstart: starts of the real binary [3]; tableschema-js: pairs [3]
#   COUNT  -count of the plain go benchmarks (designer, policies, …) [3]
#
# Read ratios and medians: the project's machines have 2 shared vCPUs.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

PAIRS=${PAIRS:-10}
ROWS=${ROWS:-1000000}
RUNS=${RUNS:-3}
COUNT=${COUNT:-3}

header() {
	printf '== %s\n' "$1"
	printf '   %s, %s CPUs, %s, load %s, commit %s\n' "$(go env GOVERSION)" "$(nproc)" \
		"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')" \
		"$(cut -d' ' -f1-3 /proc/loadavg)" "$(git rev-parse --short HEAD 2>/dev/null || echo '?')"
}

run() { # prints then runs a command
	printf '$ %s\n' "$*"
	"$@"
}

median() { # numbers on stdin -> median
	sort -g | awk '{a[NR]=$1} END {if (NR==0) exit 1; if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# ---- targets ----

# Interpreter vs hand-written workflow on the embedded server, interleaved
# batches of 10 instances; medians and ratios (docs/benchmarks.md, Foundation).
t_interpreter() {
	header "interpreter vs hand-written, embedded server, $PAIRS pairs"
	run go test -vet=off -count=1 -run '^$' -bench '^BenchmarkInterpreterVsHandwritten$' -benchtime "${PAIRS}x" ./internal/app/
}

# The same two workflows in the SDK's in-memory test environment (the
# interpreter's own CPU cost; designer/BENCHMARKS.md, section workflows).
t_interpreter_testenv() {
	header "interpreter vs hand-written, in-memory test environment"
	run go test -vet=off -count=1 -run '^$' -bench '^BenchmarkBenchFlowTestEnv$' -benchtime 300x ./workflows/
}

# Round trip start → one activity → result, embedded server vs temporaltest.
t_roundtrip() {
	header "workflow round trip: embedded (SQLite file) vs temporaltest in memory"
	run go test -vet=off -count="$COUNT" -run '^$' -bench '^BenchmarkRoundTrip$' -benchtime 20x ./internal/app/
}

# Embedded vs in-memory Temporal, one caller and 16 concurrent callers,
# interleaved in fresh processes (bench/engine.sh; docs/benchmarks.md).
t_engine() {
	header "embedded vs in-memory Temporal, interleaved, $PAIRS pairs"
	run env PAIRS="$PAIRS" bench/engine.sh
}

# Release load and ingest beside sqlite3 .import, COPY vs INSERT and
# POST /api/v1/validate (bench/release.sh; docs/benchmarks.md, Data chain).
t_release() {
	header "data chain: publish vs sqlite3 .import, COPY vs INSERT, ingest vs /validate, $ROWS rows"
	run env ROWS="$ROWS" COUNT="$RUNS" bench/release.sh
}

# GET /api/v1/tasks latency with 100,000 open tasks elsewhere, SQLite and
# PostgreSQL, beside the same inboxes without them (docs/benchmarks.md).
t_inbox() {
	header "inbox latency, SQLite and PostgreSQL"
	run env TEST_POSTGRES_URL="${TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}" \
		go test -vet=off -count=1 -run '^$' -bench '^BenchmarkInbox$' -benchtime 4000x ./internal/web/
}

# Server time of the staff pages with 10,000 open tasks, 100,000 audit
# entries and 1,000 datasets, SQLite and PostgreSQL (docs/benchmarks.md).
t_pages() {
	header "staff pages server time, SQLite and PostgreSQL"
	run env CIVICFLOW_BENCH_TASKS="${CIVICFLOW_BENCH_TASKS:-10000}" \
		TEST_POSTGRES_URL="${TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}" \
		go test -vet=off -count=1 -run '^$' -bench '^BenchmarkPages$' -benchtime 500x ./internal/web/
}

# Cold start in-process (fresh data directory to healthy) and idle memory.
t_coldstart_inprocess() {
	header "cold start in-process"
	run go test -vet=off -count=1 -run '^$' -bench '^BenchmarkColdStart$' -benchtime 3x ./internal/app/
}

# Cold start, warm restart and idle RSS of the real binary.
t_coldstart() {
	header "cold start of the real binary, $RUNS runs"
	local tmp bin
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/civicflow-cold-XXXXXX")
	bin="$tmp/civicflow"
	run go build -o "$bin" ./cmd/civicflow
	: >"$tmp/cold" && : >"$tmp/warm" && : >"$tmp/rss"
	for i in $(seq 1 "$RUNS"); do
		local data="$tmp/data-$i" hp tp
		hp=$(free_port) tp=$(free_port)
		for kind in cold warm; do
			local t0 pid ok=0
			t0=$(date +%s.%N)
			"$bin" serve --data "$data" --http "127.0.0.1:$hp" --temporal-port "$tp" >"$tmp/log-$i-$kind" 2>&1 &
			pid=$!
			for _ in $(seq 1 600); do
				if curl -fsS -o /dev/null "http://127.0.0.1:$hp/healthz" 2>/dev/null; then ok=1; break; fi
				sleep 0.05
			done
			[ "$ok" = 1 ] || { cat "$tmp/log-$i-$kind" >&2; kill "$pid"; echo "not healthy within 30 s" >&2; return 1; }
			awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.2f\n", b-a}' >>"$tmp/$kind"
			if [ "$kind" = cold ]; then
				sleep 5
				awk '/^VmRSS:/{printf "%.0f\n", $2/1024}' "/proc/$pid/status" >>"$tmp/rss"
			fi
			kill -TERM "$pid"
			wait "$pid" || true
		done
		echo "run $i: cold $(tail -1 "$tmp/cold") s, warm $(tail -1 "$tmp/warm") s, idle RSS $(tail -1 "$tmp/rss") MiB"
	done
	echo "median: cold start $(median <"$tmp/cold") s, warm restart $(median <"$tmp/warm") s, idle RSS $(median <"$tmp/rss") MiB (5 s after healthy)"
	rm -rf "$tmp"
}

# Authorization decisions vs plain Casbin Enforce (policies/BENCHMARKS.md).
t_policies() {
	header "authorization decisions"
	run go test -vet=off -count="$COUNT" -run '^$' -bench . -benchtime 1s ./policies/
}

# Parse + validate + compile of flows (designer/BENCHMARKS.md).
t_designer() {
	header "designer compile"
	run go test -vet=off -count="$COUNT" -run '^$' -bench . -benchtime 2s ./designer/
}

# Validation vs encoding/csv (ReuseRecord), interleaved in one process,
# per wall-clock second and per CPU-second (docs/benchmarks.md, Data;
# internal/tableschema/BENCHMARKS.md).
t_tableschema() {
	header "tableschema: validate vs encoding/csv ReuseRecord, $ROWS rows, $RUNS pairs"
	run env CIVICFLOW_BENCH_ROWS="$ROWS" go test -vet=off -count=1 -run '^$' -bench '^BenchmarkValidateVsEncodingCSV$' -benchtime "${RUNS}x" ./internal/tableschema/
}

# Each tableschema benchmark on its own (encoding/csv with and without
# ReuseRecord, our reader, Validate), one pass each, in one process.
t_tableschema_each() {
	header "tableschema: each benchmark, $ROWS rows"
	run env CIVICFLOW_BENCH_ROWS="$ROWS" go test -vet=off -count=1 -run '^$' -bench . -benchtime 1x ./internal/tableschema/
}

# Go validator vs the JavaScript tableschema package (docs/benchmarks-tableschema-js.md).
t_tableschema_js() {
	header "tableschema: Go vs JavaScript tableschema"
	run env ROWS="${ROWS_JS:-200000}" RUNS="$RUNS" bench/tableschema-js/run.sh
}

# Harmonisation and deduplication vs their copy / exact-key baselines.
t_harmonise() {
	header "harmonise vs copying the rows"
	run go test -vet=off -count="$COUNT" -run '^$' -bench . ./internal/harmonise/
}

t_mdm() {
	header "deduplication: fuzzy vs exact key"
	run go test -vet=off -count="$COUNT" -run '^$' -bench . ./internal/mdm/
}

# The public records API (docs/benchmarks.md, Public records API): a
# release of ROWS rows, a records query at 32 concurrent connections over
# loopback vs a trivial Echo handler (same run), and the full CSV export
# (rows/s, peak heap); SQLite and, with TEST_POSTGRES_URL, PostgreSQL.
t_explore() {
	header "public records API: records vs Echo, CSV export, $ROWS rows, $RUNS runs"
	run env CIVICFLOW_BENCH_ROWS="$ROWS" BENCH_SECONDS="${BENCH_SECONDS:-5}" go test -vet=off -count=1 -run '^$' \
		-bench '^BenchmarkExploreAPI$' -benchtime "${RUNS}x" -timeout 60m ./internal/web/
}

targets=(interpreter interpreter-testenv roundtrip engine release inbox pages coldstart coldstart-inprocess policies designer
	tableschema tableschema-each tableschema-js harmonise mdm explore)

usage() {
	echo "usage: bench/run.sh TARGET..."
	echo "targets: ${targets[*]}"
}

[ $# -gt 0 ] || { usage; exit 0; }
for t in "$@"; do
	fn="t_${t//-/_}"
	if ! declare -F "$fn" >/dev/null; then
		usage >&2
		exit 2
	fi
	"$fn"
done
