#!/usr/bin/env bash
# `make bench`: every benchmark in one run (root), then the goals of issue 6
# against what this run measured. Not a test: figures and their verdicts
# against the goals, never a pass/fail of the build.
#
#   tests/bench.sh BUILD_DIR
#   tests/bench.sh --goals FILE   the goals table of an earlier run's output
#
# Output: each benchmark's BENCH/RATIO lines and table, then "Goals". All
# of it is also kept in BUILD_DIR/bench.txt. XTAP_BENCH_RUN_S shortens the
# end-to-end runs (default 5 s), BENCH_CTL_SIZES the control plane's sizes,
# BENCH_CTL_LIST_MAX the largest size listed (default 100000).
set -uo pipefail
goals_only=
if [ "${1:-}" = --goals ]; then
	goals_only=1
	out=${2:?usage: bench.sh --goals FILE}
else
	B=${1:?usage: bench.sh BUILD_DIR}
	out=$B/bench.txt
	: >"$out"
fi

section() {
	echo
	echo "===== $1 ($(date -u +%H:%M:%S))"
}

[ -z "$goals_only" ] && {
	section "machine"
	echo "cpus: $(nproc), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)"
	echo "kernel: $(uname -r), virtualised: $(grep -qw hypervisor /proc/cpuinfo && echo yes || echo no)"
	echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
	section "classifier (tests/bench_classify.c)"
	"$B/bench_classify"
	section "end to end (tests/bench_e2e.c)"
	"$B/bench_e2e"
	section "control plane (tests/bench_ctl.sh)"
	# a LIST of 1M criteria (320 MiB of replies) is more than the worker queues
	# for one client (docs/status.md): listed up to 100k only, unless told
	BENCH_CTL_LIST_MAX=${BENCH_CTL_LIST_MAX:-100000} tests/bench_ctl.sh "$B" ${BENCH_CTL_SIZES:-}
} 2>&1 | tee -a "$out"
[ -n "$goals_only" ] && tee_out=/dev/null || tee_out=$out

# value of a BENCH or RATIO line by name, empty if the run did not print it
val() { awk -v t="$1" -v k="$2" '$1 == t && $2 == k { print $3; exit }' "$out"; }
verdict() { # measured goal-expression
	if [ -z "$1" ]; then echo "not measured"; elif awk "BEGIN { exit !($1 $2) }"; then echo met; else echo "NOT met"; fi
}
row() { printf '| %s | %s | %s |\n' "$1" "${2:-n/a}" "$3"; }

{
	section "Goals (issue 6)"
	echo "| goal | measured | |"
	echo "|---|---:|---|"
	# the null case (the case pair with no program against the baseline pair)
	# shows this run's noise: a ratio closer to its goal than that decides nothing
	n=$(val RATIO e2e_no_program_vs_no_program)
	noise=$(awk -v n="${n:-1}" 'BEGIN { d = n - 1; printf "%.3f", d < 0 ? -d : d }')
	near() { # value, goal: "within noise" when closer than the noise
		awk -v x="$1" -v g="$2" -v e="$noise" 'BEGIN { d = x - g; exit !(d < e && -d < e) }'
	}
	x=$(val RATIO e2e_xtap_1000000_none_matching_vs_no_program)
	v=$(verdict "$x" '>= 0.95')
	[ -n "$x" ] && near "$x" 0.95 && v="within this run's noise (+-$noise)"
	row "xtap, 1M criteria none matching, >= 0.95 x no program (null case: $n)" "$x" "$v"
	for other in nft_dup_1000000 tc_u32_mirred_1000000 tcpdump_1000; do
		o=$(val RATIO e2e_${other}_none_matching_vs_no_program)
		v=$(verdict "$x" "> ${o:-9}")
		[ -n "$x" ] && [ -n "$o" ] && near "$x" "$o" && v="within this run's noise (+-$noise)"
		row "xtap 1M better than ${other%_*} at ${other##*_} (x no program: $o)" "$x" "$v"
	done
	c=$(val BENCH e2e_xtap_1000000_plus_100_percent_matching_copies)
	for other in nft_dup tc_u32_mirred; do
		o=$(val BENCH e2e_${other}_1000000_plus_100_percent_matching_copies)
		row "copies per core (Mcopies/s, 100% matching) >= $other ($o)" "$c" "$(verdict "$c" ">= ${o:-9}")"
	done
	l=$(val BENCH e2e_xtap_lost_copies_at_half_max_rate)
	row "0 lost copies at half the maximum copy rate" "$l" "$(verdict "$l" '== 0')"
	a=$(val BENCH add_pipelined_1000000)
	[ -z "$a" ] && a=$(val BENCH add_pipelined_100000)
	row "DTCP ADD pipelined >= 20,000/s (at 1M, else 100k)" "$a" "$(verdict "$a" '>= 20000')"
	r=$(val BENCH rss_1000000)
	row "1M criteria resident (xtapd RSS, KiB)" "$r" "$([ -n "$r" ] && echo met || echo "not measured")"
	t=$(val BENCH list_100000)
	row "LIST of 100k criteria < 2 s" "$t" "$(verdict "$t" '< 2')"
	grep '^RATIO .*(goal' "$out" | sed 's/^RATIO \([^ ]*\) \([^ ]*\) (goal \(.*\): \(.*\))$/| classifier \1 \3 | \2 | \4 |/'
} | tee -a "$tee_out"
