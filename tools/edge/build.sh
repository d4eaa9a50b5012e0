#!/usr/bin/env bash
# build.sh — the edge executables: sito-rerank and sito-embed, release, the Swift runtime linked in
# statically (--static-swift-stdlib), without OpenBLAS (the `OpenBLAS` trait off: Sito's own f32 GEMM),
# stripped. What they still need at run time is only glibc's libc and libm, libstdc++, libgcc_s and the
# dynamic loader; the script prints each file's size and NEEDED entries and fails if anything else slipped
# in.
#
# How to run
#   tools/edge/build.sh            # into .build-edge/bin
#   tools/edge/build.sh OUT        # into OUT
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUT="${1:-$ROOT/.build-edge/bin}"
SCRATCH="$ROOT/.build-edge/swiftpm"
PRODUCTS=(sito-rerank sito-embed)
ALLOWED='^(libc\.so\.6|libm\.so\.6|libstdc\+\+\.so\.6|libgcc_s\.so\.1|ld-linux-[a-z0-9_-]+\.so\.[0-9]+)$'

log() { printf 'edge: %s\n' "$*" >&2; }

cd "$ROOT"
mkdir -p "$OUT"
for product in "${PRODUCTS[@]}"; do
    log "building $product (release, static Swift runtime, no OpenBLAS)…"
    swift build -c release --product "$product" --scratch-path "$SCRATCH" \
        --static-swift-stdlib --disable-default-traits
done
BIN="$(swift build -c release --scratch-path "$SCRATCH" --static-swift-stdlib --disable-default-traits --show-bin-path)"

status=0
printf '%-14s %10s  %s\n' file bytes NEEDED
for product in "${PRODUCTS[@]}"; do
    strip -o "$OUT/$product" "$BIN/$product"
    size=$(stat -c %s "$OUT/$product")
    needed=$(readelf -d "$OUT/$product" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
    printf '%-14s %10s  %s\n' "$product" "$size" "$needed"
    for lib in $needed; do
        if ! [[ "$lib" =~ $ALLOWED ]]; then
            log "ERROR: $product needs $lib (only libc, libm, libstdc++, libgcc_s and the loader are allowed)"
            status=1
        fi
    done
    if ((size > 16 * 1024 * 1024)); then
        log "ERROR: $product is $size bytes, over the 16 MiB budget"
        status=1
    fi
done
log "wrote ${PRODUCTS[*]} to $OUT"
exit $status
