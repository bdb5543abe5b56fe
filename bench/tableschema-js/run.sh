#!/usr/bin/env bash
# Compares the throughput of our Go validator (internal/tableschema,
# BenchmarkValidate) with the frictionless JavaScript `tableschema` npm
# package on the same scdl-subventions CSV.
#
#   bench/tableschema-js/run.sh                 # 200,000 rows, one run
#   ROWS=1000000 RUNS=3 bench/tableschema-js/run.sh
#
# Environment:
#   ROWS    data rows in the generated file (default 200000)
#   RUNS    interleaved JS/Go runs; medians are printed when > 1 (default 1)
#   VERIFY  1 (default): check that gen/ writes byte-for-byte the file that
#           bench_test.go generates (a throw-away test file injected with
#           `go test -overlay`, nothing is written to the tree); 0 to skip
#   KEEP    1: keep the temporary directory (CSV, outputs)
#
# Needs: go, node >= 14, npm (the npm registry for `npm ci`).
set -euo pipefail

ROWS=${ROWS:-200000}
RUNS=${RUNS:-1}
VERIFY=${VERIFY:-1}
KEEP=${KEEP:-0}
TARGET=20

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
schema="$root/internal/tableschema/schemas/scdl-subventions.schema.json"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/civicflow-tsjs-XXXXXX")
cleanup() { if [ "$KEEP" = 1 ]; then echo "kept $tmp" >&2; else rm -rf "$tmp"; fi; }
trap cleanup EXIT

log() { printf '==> %s\n' "$*" >&2; }

median() { # numbers on stdin -> median
	sort -g | awk '{a[NR]=$1} END {if (NR==0) exit 1; if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'
}

log "go $(go env GOVERSION), node $(node --version), npm $(npm --version), $(nproc) CPUs, load:$(cut -d' ' -f1-3 /proc/loadavg | sed 's/^/ /')"

# 1. The data file.
csv="$tmp/subventions-$ROWS.csv"
log "generating $ROWS rows -> $csv"
(cd "$root" && go build -o "$tmp/gen" ./bench/tableschema-js/gen)
"$tmp/gen" -rows "$ROWS" -o "$csv"
log "$(wc -c <"$csv") bytes, sha256 $(sha256sum "$csv" | cut -c1-16)…"

if [ "$VERIFY" = 1 ]; then
	log "checking it is the file BenchmarkValidate generates (go test -overlay probe)"
	cat >"$tmp/zz_dump_test.go" <<'EOF'
package tableschema

import (
	"os"
	"strconv"
	"testing"
)

// Injected by bench/tableschema-js/run.sh through -overlay; never on disk in the tree.
func TestZZDumpBenchFileForJS(t *testing.T) {
	n, err := strconv.Atoi(os.Getenv("TSJS_DUMP_ROWS"))
	if err != nil {
		t.Fatal(err)
	}
	if err := writeSubventions(os.Getenv("TSJS_DUMP_PATH"), n); err != nil {
		t.Fatal(err)
	}
}
EOF
	printf '{"Replace":{"%s":"%s"}}\n' "$root/internal/tableschema/zz_dump_test_tsjs_test.go" "$tmp/zz_dump_test.go" >"$tmp/overlay.json"
	(cd "$root" && TSJS_DUMP_ROWS="$ROWS" TSJS_DUMP_PATH="$tmp/reference.csv" \
		go test -overlay "$tmp/overlay.json" -count=1 -run '^TestZZDumpBenchFileForJS$' ./internal/tableschema/ >"$tmp/verify.out" 2>&1) ||
		{ cat "$tmp/verify.out" >&2; echo "verify: probe failed (set VERIFY=0 to skip)" >&2; exit 1; }
	if ! cmp -s "$csv" "$tmp/reference.csv"; then
		echo "verify: gen/main.go no longer matches writeSubventions in bench_test.go; update gen/" >&2
		exit 1
	fi
	rm -f "$tmp/reference.csv"
	log "identical"
fi

# 2. The npm package, exactly as locked.
log "npm ci"
(cd "$here" && npm ci --no-audit --no-fund --loglevel=error >&2)
log "tableschema $(node -p "require('$here/node_modules/tableschema/package.json').version")"

# 3. Interleaved runs.
: >"$tmp/js.tsv"
: >"$tmp/go.tsv"
for run in $(seq 1 "$RUNS"); do
	log "run $run/$RUNS: JS tableschema (load:$(cut -d' ' -f1 /proc/loadavg))"
	js_cpu=NaN
	if [ -x /usr/bin/time ]; then
		/usr/bin/time -f '%U %S' -o "$tmp/js.time" node "$here/validate.js" "$csv" "$schema" >"$tmp/js.json" 2>"$tmp/js.err" ||
			{ cat "$tmp/js.err" >&2; exit 1; }
		js_cpu=$(awk '{print $1+$2}' "$tmp/js.time")
	else
		node "$here/validate.js" "$csv" "$schema" >"$tmp/js.json" 2>"$tmp/js.err" || { cat "$tmp/js.err" >&2; exit 1; }
	fi
	head -n 5 "$tmp/js.err" >&2
	cat "$tmp/js.json" >&2
	read -r js_rows js_errors js_rps < <(node -e 'const r=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")); console.log(r.rows, r.errors, r.rowsPerSecond)' "$tmp/js.json")
	[ "$js_rows" = "$ROWS" ] || { echo "JS read $js_rows rows, want $ROWS" >&2; exit 1; }
	[ "$js_errors" = 0 ] || echo "warning: JS reported $js_errors errors on a valid file" >&2
	# process CPU (user+sys, includes node start-up and schema load) per row
	js_cpu_us=$(awk -v c="$js_cpu" -v n="$ROWS" 'BEGIN{ if (c=="NaN") print "NaN"; else printf "%.2f", c*1e6/n }')
	printf '%s\t%s\n' "$js_rps" "$js_cpu_us" >>"$tmp/js.tsv"

	log "run $run/$RUNS: Go BenchmarkValidate (load:$(cut -d' ' -f1 /proc/loadavg))"
	(cd "$root" && CIVICFLOW_BENCH_ROWS="$ROWS" go test -run '^$' -bench 'BenchmarkValidate' -benchtime 1x ./internal/tableschema/) >"$tmp/go.out" 2>&1 ||
		{ cat "$tmp/go.out" >&2; exit 1; }
	grep -E '^Benchmark' "$tmp/go.out" >&2
	go_line=$(grep -E '^BenchmarkValidate(-[0-9]+)?[[:space:]]' "$tmp/go.out")
	go_rps=$(awk '{for (i=1;i<NF;i++) if ($(i+1)=="rows/s") print $i}' <<<"$go_line")
	go_cpu_us=$(awk '{for (i=1;i<NF;i++) if ($(i+1)=="cpu-µs/row") print $i}' <<<"$go_line")
	[ -n "$go_rps" ] || { echo "no rows/s in: $go_line" >&2; exit 1; }
	printf '%s\t%s\n' "$go_rps" "${go_cpu_us:-NaN}" >>"$tmp/go.tsv"
	log "run $run: JS $js_rps rows/s ($js_cpu_us cpu-µs/row), Go $go_rps rows/s (${go_cpu_us:-NaN} cpu-µs/row), ratio $(awk -v g="$go_rps" -v j="$js_rps" 'BEGIN{printf "%.1f", g/j}')×"
done

# 4. Summary.
js_rps=$(cut -f1 "$tmp/js.tsv" | median)
go_rps=$(cut -f1 "$tmp/go.tsv" | median)
js_cpu_us=$(cut -f2 "$tmp/js.tsv" | grep -v NaN | median || echo NaN)
go_cpu_us=$(cut -f2 "$tmp/go.tsv" | grep -v NaN | median || echo NaN)
ratio=$(awk -v g="$go_rps" -v j="$js_rps" 'BEGIN{printf "%.1f", g/j}')
cpu_ratio=$(awk -v g="$go_cpu_us" -v j="$js_cpu_us" 'BEGIN{ if (g=="NaN" || j=="NaN" || g==0) print "n/a"; else printf "%.1f", j/g }')
verdict=$(awk -v r="$ratio" -v t="$TARGET" 'BEGIN{print (r+0 >= t) ? "meets" : "DOES NOT meet"}')

label=$([ "$RUNS" -gt 1 ] && echo "median of $RUNS runs" || echo "1 run")
echo
echo "rows:                   $ROWS ($label)"
echo "JS tableschema 1.x:     $(printf '%.0f' "$js_rps") rows/s   (per run: $(cut -f1 "$tmp/js.tsv" | paste -sd' '); CPU $js_cpu_us µs/row)"
echo "Go internal/tableschema: $(printf '%.0f' "$go_rps") rows/s   (per run: $(cut -f1 "$tmp/go.tsv" | paste -sd' '); CPU $go_cpu_us µs/row)"
echo "ratio Go/JS (wall):     ${ratio}×  -> $verdict the ${TARGET}× target"
echo "ratio JS/Go (CPU/row):  ${cpu_ratio}×"
