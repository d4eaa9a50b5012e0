#!/usr/bin/env bash
# test-aarch64.sh — the kernel conformance driver (tools/edge/conformance) natively and on aarch64 under qemu.
#
# What it does
#   1. Builds the driver natively with clang (Sources/CSitoKernels/*.c + tools/edge/conformance/*.c) and
#      runs it: scalar + the x86 paths this host has.
#   2. Cross-compiles it for aarch64-linux-gnu (clang --target, the Debian cross libc and binutils) and runs
#      it under qemu-aarch64 on three CPUs, each expected to detect its level:
#        cortex-a53 → neon   cortex-a76 → neon-dotprod   max → neon-bf16
#      plus max with SITO_ISA=neon-i8mm, so the i8mm int8 path and the NEON bf16 path are also the selected
#      (process-wide) level once. Every run checks every path up to its level against the scalar reference.
#   Prints one summary line per run. Exit status: 0 all passed; 1 a check failed; 2 a build failed;
#   3 tools are missing (each one named; Tests/CSitoKernelsTests/Aarch64ConformanceTests.swift skips then,
#   except under CI).
#   Output: .build-edge/conformance/ (gitignored). Time: the two builds (≈ 15 s of CPU, skipped when up to
#   date) and the five runs in parallel (≈ 12 s of CPU): 20–70 s on a busy 2-core machine.
#
# How to run
#   tools/edge/test-aarch64.sh            # from anywhere; tools/setup.sh installs the cross tools and qemu
# Environment: CLANG (default: clang on PATH), QEMU (default: qemu-aarch64), SYSROOT (default: /usr/aarch64-linux-gnu).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUT="$ROOT/.build-edge/conformance"
# clang: $CLANG, else the one on PATH, else the Swift toolchain's (next to swift).
if [[ -z "${CLANG:-}" ]]; then
    CLANG=clang
    if ! command -v clang >/dev/null 2>&1 && command -v swift >/dev/null 2>&1; then
        CLANG="$(dirname "$(readlink -f "$(command -v swift)")")/clang"
    fi
fi
QEMU="${QEMU:-qemu-aarch64}"
SYSROOT="${SYSROOT:-/usr/aarch64-linux-gnu}"
CROSS_LD="${CROSS_LD:-/usr/bin/aarch64-linux-gnu-ld}"
mkdir -p "$OUT"

# Prerequisites, each named when missing.
missing=()
if ! command -v "$CLANG" >/dev/null 2>&1; then
    missing+=("clang (set CLANG=...; the Swift toolchain's clang works)")
elif ! "$CLANG" --print-targets 2>/dev/null | grep -q aarch64; then
    missing+=("the aarch64 target in $CLANG (--print-targets lists none)")
fi
[[ -x "$CROSS_LD" ]] || missing+=("aarch64 linker $CROSS_LD (apt: binutils-aarch64-linux-gnu, via gcc-aarch64-linux-gnu)")
[[ -f "$SYSROOT/lib/libc.so.6" || -f "$SYSROOT/lib/libc.so" ]] || missing+=("aarch64 C library in $SYSROOT (apt: libc6-dev-arm64-cross)")
command -v "$QEMU" >/dev/null 2>&1 || missing+=("$QEMU (apt: qemu-user)")
if ((${#missing[@]})); then
    printf 'test-aarch64: missing cross tools:\n' >&2
    printf '  - %s\n' "${missing[@]}" >&2
    printf 'test-aarch64: run tools/setup.sh (as root) to install them\n' >&2
    exit 3
fi

SOURCES=("$ROOT"/Sources/CSitoKernels/*.c "$ROOT"/tools/edge/conformance/*.c)
CFLAGS=(-std=c11 -O2 -Wall -Wextra -D_GNU_SOURCE -I "$ROOT/Sources/CSitoKernels/include" -I "$ROOT/tools/edge/conformance")

start=$SECONDS
status=0

# build NAME CLANG-ARGS...: compiles the driver to $OUT/conformance-NAME unless it is newer than every
# source and was built by this script's flags (kept in $OUT/NAME.flags); errors in $OUT/build-NAME.log.
build() {
    local name="$1"; shift
    local bin="$OUT/conformance-$name" flags="$CLANG ${CFLAGS[*]} $*"
    if [[ -x "$bin" && "$(cat "$OUT/$name.flags" 2>/dev/null)" == "$flags" ]] &&
        [[ -z "$(find "$ROOT/Sources/CSitoKernels" "$ROOT/tools/edge/conformance" "${BASH_SOURCE[0]}" -newer "$bin" -print -quit)" ]]; then
        echo "  [$name] up to date"
        return 0
    fi
    rm -f "$bin"
    if "$CLANG" "$@" "${CFLAGS[@]}" "${SOURCES[@]}" -lm -o "$bin" 2>"$OUT/build-$name.log"; then
        printf '%s' "$flags" >"$OUT/$name.flags"
        echo "  [$name] built"
    else
        echo "  [$name] BUILD FAILED:"
        sed 's/^/    /' "$OUT/build-$name.log"
        return 1
    fi
}

echo "test-aarch64: building the driver natively and for aarch64-linux-gnu ($("$CLANG" --version | head -n 1))"
build native & native_pid=$!
build aarch64 --target=aarch64-linux-gnu --gcc-toolchain=/usr --ld-path="$CROSS_LD" & cross_pid=$!
wait $native_pid || status=2
wait $cross_pid || status=2
((status == 0)) || { echo "test-aarch64: build failed" >&2; exit 2; }

# The runs, in parallel: "NAME|FUNCTION ARGS" (the arguments contain no spaces; paths are in the functions).
run_native() { "$OUT/conformance-native" --verbose; }
run_qemu() {   # CPU EXPECTED-LEVEL [SITO_ISA value]
    if [[ -n "${3:-}" ]]; then
        SITO_ISA="$3" "$QEMU" -L "$SYSROOT" -cpu "$1" "$OUT/conformance-aarch64" --verbose --expect-isa "$2"
    else
        env -u SITO_ISA "$QEMU" -L "$SYSROOT" -cpu "$1" "$OUT/conformance-aarch64" --verbose --expect-isa "$2"
    fi
}
RUNS=(
    "native|run_native"
    "qemu cortex-a53|run_qemu cortex-a53 neon"
    "qemu cortex-a76|run_qemu cortex-a76 neon-dotprod"
    "qemu max|run_qemu max neon-bf16"
    "qemu max SITO_ISA=neon-i8mm|run_qemu max neon-bf16 neon-i8mm"
)
slug() { printf '%s' "$1" | tr -c 'A-Za-z0-9=-' '_'; }
pids=()
for r in "${RUNS[@]}"; do
    name="${r%%|*}"
    read -r -a cmd <<<"${r#*|}"
    ("${cmd[@]}" >"$OUT/$(slug "$name").log" 2>&1; echo $? >"$OUT/$(slug "$name").rc") &
    pids+=($!)
done
wait "${pids[@]}"

summary=()
for r in "${RUNS[@]}"; do
    name="${r%%|*}"
    log="$OUT/$(slug "$name").log"
    rc="$(cat "$OUT/$(slug "$name").rc" 2>/dev/null || echo 1)"
    last="$(grep '^conformance:' "$log" | tail -n 1)"
    [[ -n "$last" ]] || last="no summary line (exit $rc)"
    sed -n '1,2p' "$log" | sed "s/^/  [$name] /"
    if [[ "$rc" != 0 ]]; then
        status=1
        summary+=("FAIL  $(printf '%-28s' "$name") $last")
        grep -E '^  FAIL ' "$log" | head -n 20 | sed "s/^/  [$name] /"
        [[ -n "$(grep '^conformance:' "$log")" ]] || tail -n 3 "$log" | sed "s/^/  [$name] (last lines) /"
    else
        summary+=("ok    $(printf '%-28s' "$name") $last")
    fi
done

echo "test-aarch64: summary ($((SECONDS - start)) s; logs in ${OUT#"$ROOT"/})"
printf '  %s\n' "${summary[@]}"
exit $status
