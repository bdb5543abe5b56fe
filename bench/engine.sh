#!/usr/bin/env bash
# The embedded Temporal server (SQLite file, as `serve` runs it) beside
# temporaltest's in-memory server, on the same workflow (start → one
# activity → result), interleaved: each pair runs the embedded side then
# the in-memory side, in two fresh processes of the same test binary, so
# that both see the same moment of a shared machine (docs/benchmarks.md,
# Foundation).
#
#   bench/engine.sh                 # PAIRS=5, one caller and 16 callers
#   PAIRS=9 N1=40 N16=400 bench/engine.sh
#
# Environment:
#   PAIRS  interleaved embedded/in-memory pairs of each benchmark [5]
#   N1     instances per run with one caller (BenchmarkRoundTrip) [30]
#   N16    instances per run with 16 concurrent callers (BenchmarkThroughput) [320]
#
# Prints every run, then per benchmark the medians of inst/s and CPU
# ms/instance of each side, and embedded / in-memory: the ratio of the
# median speeds and the median of the per-pair ratios (goal ≥ 0.8).
set -euo pipefail
cd "$(dirname "$0")/.."

PAIRS=${PAIRS:-5}
N1=${N1:-30}
N16=${N16:-320}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/civicflow-engine-XXXXXX")
trap 'rm -rf "$tmp"' EXIT

printf '== embedded vs in-memory Temporal, %s pairs\n' "$PAIRS"
printf '   %s, %s CPUs, load %s, commit %s, %s\n' "$(go env GOVERSION)" "$(nproc)" \
	"$(cut -d' ' -f1-3 /proc/loadavg)" "$(git rev-parse --short HEAD 2>/dev/null || echo '?')" "$(date -u +%FT%TZ)"
printf '$ go test -c -o %s/app.test ./internal/app/\n' "$tmp"
go test -c -o "$tmp/app.test" ./internal/app/

median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) exit 1; if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

# one BENCH SIDE N -> "inst/s cpu-ms/inst" of one run
one() {
	local out
	out=$(cd internal/app && "$tmp/app.test" -test.run '^$' -test.bench "^$1\$/^$2\$" -test.benchtime "$3x" -test.count 1 2>&1) || {
		echo "$out" >&2
		return 1
	}
	echo "$out" | awk -v b="$1/$2" '$1 ~ "^"b { for (i = 2; i < NF; i++) { if ($(i+1) == "inst/s") s = $i; if ($(i+1) == "cpu-ms/inst") c = $i } } END { if (s == "") exit 1; print s, c }'
}

for bench in RoundTrip Throughput; do
	n=$N1
	[ "$bench" = Throughput ] && n=$N16
	: >"$tmp/$bench.emb" && : >"$tmp/$bench.mem" && : >"$tmp/$bench.ratio"
	echo "-- Benchmark$bench ($n instances per run; callers: $([ "$bench" = RoundTrip ] && echo 1 || echo 16))"
	for i in $(seq 1 "$PAIRS"); do
		e=$(one "Benchmark$bench" embedded-sqlite-file "$n")
		m=$(one "Benchmark$bench" temporaltest-memory "$n")
		echo "$e" >>"$tmp/$bench.emb"
		echo "$m" >>"$tmp/$bench.mem"
		awk -v e="${e%% *}" -v m="${m%% *}" 'BEGIN { printf "%.3f\n", e / m }' >>"$tmp/$bench.ratio"
		printf '   pair %d: embedded %s inst/s (%s CPU-ms/inst), in-memory %s inst/s (%s CPU-ms/inst), ratio %s, load %s\n' \
			"$i" "${e%% *}" "${e##* }" "${m%% *}" "${m##* }" "$(tail -1 "$tmp/$bench.ratio")" "$(cut -d' ' -f1 /proc/loadavg)"
	done
	es=$(cut -d' ' -f1 "$tmp/$bench.emb" | median) ms=$(cut -d' ' -f1 "$tmp/$bench.mem" | median)
	ec=$(cut -d' ' -f2 "$tmp/$bench.emb" | median) mc=$(cut -d' ' -f2 "$tmp/$bench.mem" | median)
	printf '   median: embedded %s inst/s, %s CPU-ms/inst; in-memory %s inst/s, %s CPU-ms/inst\n' "$es" "$ec" "$ms" "$mc"
	printf '   embedded / in-memory speed: %s (ratio of the medians), %s (median of the per-pair ratios); load %s\n' \
		"$(awk -v e="$es" -v m="$ms" 'BEGIN { printf "%.2f", e / m }')" "$(median <"$tmp/$bench.ratio")" "$(cut -d' ' -f1-3 /proc/loadavg)"
done
