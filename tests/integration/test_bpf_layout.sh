#!/usr/bin/env bash
# Each .bpf.c defines the maps and globals it owns; the shared headers (http_energy.bpf.h,
# requests.bpf.h) define, __weak, only what both sides use (docs/architecture.md). Read from
# the per-source objects the static linker joins (build/bpf/signals.o, requests.o): a map
# or global defined in both must be referenced by the code of both. Nothing is loaded: no
# root, no lock.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh

objs=("$BUILD/bpf/signals.o" "$BUILD/bpf/requests.o")
# Deliberately shared though one side leaves them unused: none.
allowed_unused=" "

for o in "${objs[@]}"; do
	if [ ! -s "$o" ]; then
		not_ok "$o exists (build it with make programs)"
		finish
	fi
done

# defined OBJ: the maps and global variables it defines, one per line.
defined() {
	llvm-objdump -t "$1" | awk '$3 == "O" && $4 ~ /^(\.maps|\.bss|\.data|\.rodata)$/ {print $NF}' |
		sort -u
}
# referenced OBJ: the symbols its code loads (map and global relocations), one per line.
referenced() {
	llvm-objdump -r "$1" | awk '$2 == "R_BPF_64_64" {print $3}' | sort -u
}

mapfile -t shared < <(comm -12 <(defined "${objs[0]}") <(defined "${objs[1]}"))
check "the two objects share some maps and globals (read ${#shared[@]})" [ "${#shared[@]}" -gt 0 ]

for o in "${objs[@]}"; do
	refs=$(referenced "$o")
	unused=()
	for s in "${shared[@]}"; do
		[[ $allowed_unused == *" $s "* ]] && continue
		grep -qx -- "$s" <<<"$refs" || unused+=("$s")
	done
	if [ "${#unused[@]}" -eq 0 ]; then
		ok "$(basename "$o"): every shared map and global is used by its code"
	else
		not_ok "$(basename "$o") defines, through a shared header, what only the other" \
			"side uses: ${unused[*]}"
	fi
done

# sched_switch, the hottest program, reads no mutable global (.bss, .data: a cache line
# that user space or other CPUs write; issue 14, docs/overhead.md "sched_switch: what a
# run costs") but the request charge's factor, which only a thread that served a request
# reads.
mutable=$(llvm-objdump -t "${objs[0]}" | awk '$3 == "O" && $4 ~ /^\.(bss|data)$/ {print $NF}')
switch_reads=$(llvm-objdump -r "${objs[0]}" |
	awk '/^RELOCATION RECORDS FOR/ { on = ($4 == "[tp_btf/sched_switch]:") }
	     on && $2 == "R_BPF_64_64" {print $3}' | sort -u)
bad=$(comm -12 <(printf '%s\n.bss\n.data\n' "$mutable" | sort -u) <(echo "$switch_reads") |
	grep -vx uj_per_score_word | tr '\n' ' ')
check "sched_switch reads no mutable global but uj_per_score_word (read: ${bad:-none})" \
	[ -z "$bad" ]
check "that check sees sched_switch's code (it reads cpu_state)" grep -qx cpu_state <<<"$switch_reads"
# it reads only that section's relocations: a subprogram it called would escape it
switch_calls=$(llvm-objdump -r "${objs[0]}" |
	awk '/^RELOCATION RECORDS FOR/ { on = ($4 == "[tp_btf/sched_switch]:") }
	     on && $2 == "R_BPF_64_32" {print $3}' | sort -u | tr '\n' ' ')
check "sched_switch calls no subprogram that check would miss (calls: ${switch_calls:-none})" \
	[ -z "$switch_calls" ]

finish
