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
#   Prints one summary line per run; exits non-zero if any run fails, or names what is missing.
#   Output: .build-edge/conformance/ (gitignored). Takes well under 2 minutes.
#
# How to run
#   tools/edge/test-aarch64.sh            # from anywhere; tools/setup.sh installs the cross tools and qemu
# Environment: CLANG (default: clang on PATH), QEMU (default: qemu-aarch64), SYSROOT (default: /usr/aarch64-linux-gnu).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUT="$ROOT/.build-edge/conformance"
CLANG="${CLANG:-clang}"
QEMU="${QEMU:-qemu-aarch64}"
SYSROOT="${SYSROOT:-/usr/aarch64-linux-gnu}"
CROSS_LD="${CROSS_LD:-/usr/bin/aarch64-linux-gnu-ld}"
mkdir -p "$OUT"

die() { printf 'test-aarch64: ERROR: %s\n' "$*" >&2; exit 2; }

# Prerequisites, each named when missing.
command -v "$CLANG" >/dev/null 2>&1 || die "clang not found (set CLANG=...; the Swift toolchain's clang works)"
missing=()
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
summary=()

# run NAME EXPECT CMD...: runs one driver invocation, keeps its log, records its last line.
run() {
    local name="$1"; shift
    local log="$OUT/$name.log"
    "$@" >"$log" 2>&1
    local rc=$?
    local last
    last="$(grep '^conformance:' "$log" | tail -n 1)"
    [[ -n "$last" ]] || last="no summary line (exit $rc)"
    if ((rc != 0)); then
        status=1
        summary+=("FAIL  $(printf '%-26s' "$name") $last")
        grep -E 'FAIL|detected|ERROR|rror' "$log" | head -n 20 | sed 's/^/      /' >&2
    else
        summary+=("ok    $(printf '%-26s' "$name") $last")
    fi
    sed -n '1,2p' "$log" | sed "s/^/  [$name] /"
}

# 1. native
echo "test-aarch64: building natively ($("$CLANG" --version | head -n 1))"
if ! "$CLANG" "${CFLAGS[@]}" "${SOURCES[@]}" -lm -o "$OUT/conformance-native" 2>"$OUT/build-native.log"; then
    cat "$OUT/build-native.log" >&2
    die "native build failed"
fi
run native "$OUT/conformance-native"

# 2. aarch64
echo "test-aarch64: cross-compiling for aarch64-linux-gnu"
if ! "$CLANG" --target=aarch64-linux-gnu --gcc-toolchain=/usr --ld-path="$CROSS_LD" "${CFLAGS[@]}" \
        "${SOURCES[@]}" -lm -o "$OUT/conformance-aarch64" 2>"$OUT/build-aarch64.log"; then
    cat "$OUT/build-aarch64.log" >&2
    die "aarch64 build failed (see above)"
fi
for cpu_expect in cortex-a53:neon cortex-a76:neon-dotprod max:neon-bf16; do
    cpu="${cpu_expect%%:*}" expect="${cpu_expect#*:}"
    run "qemu $cpu" env -u SITO_ISA "$QEMU" -L "$SYSROOT" -cpu "$cpu" "$OUT/conformance-aarch64" --expect-isa "$expect"
done
run "qemu max SITO_ISA=neon-i8mm" env SITO_ISA=neon-i8mm "$QEMU" -L "$SYSROOT" -cpu max "$OUT/conformance-aarch64" --expect-isa neon-bf16

echo "test-aarch64: summary ($((SECONDS - start)) s; logs in ${OUT#"$ROOT"/})"
printf '  %s\n' "${summary[@]}"
exit $status
