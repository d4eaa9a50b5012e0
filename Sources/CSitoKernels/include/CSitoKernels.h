// CSitoKernels: the C half of Sito's runtime. Plain C11, no dependencies.
//
// Contents
//   - xxh64: the checksum of every tensor in a `.sito` file (formats/sito.md, "Checksums").
//   - CPU feature detection (cpuid), so SIMD paths are chosen at run time, never at compile time.
//   - GEMM kernels for quantized weights (int8 per-row scales, bf16), each with a scalar reference
//     beside its SIMD paths (see sito_kernels.h for shapes and conventions).
//
// Every pointer argument is non-null unless documented otherwise; shapes are row-major.
#pragma once
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// XXH64 of `length` bytes at `data` with `seed` (the reference algorithm by Yann Collet, spec'd in
/// xxhash's doc/xxhash_spec.md). `data` may be NULL when `length` is 0.
uint64_t sito_xxh64(const void *data, size_t length, uint64_t seed);

/// Streaming XXH64: feed any number of chunks; the digest equals sito_xxh64 of their concatenation.
typedef struct {
    uint64_t total_length;
    uint64_t v[4];
    uint8_t buffer[32];
    uint32_t buffered;
    uint64_t seed;
} sito_xxh64_state;

void sito_xxh64_reset(sito_xxh64_state *state, uint64_t seed);
void sito_xxh64_update(sito_xxh64_state *state, const void *data, size_t length);
uint64_t sito_xxh64_digest(const sito_xxh64_state *state);

#ifdef __cplusplus
}
#endif

#include "sito_kernels.h"
