// xxh64.c: XXH64, the 64-bit xxHash, written from the public algorithm description
// (xxhash doc/xxhash_spec.md). Used for the per-tensor checksums of `.sito` files.
#include "CSitoKernels.h"
#include <string.h>

static const uint64_t P1 = 11400714785074694791ULL;
static const uint64_t P2 = 14029467366897019727ULL;
static const uint64_t P3 = 1609587929392839161ULL;
static const uint64_t P4 = 9650029242287828579ULL;
static const uint64_t P5 = 2870177450012600261ULL;

static inline uint64_t rotl64(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }
static inline uint64_t read64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; } // little-endian host
static inline uint32_t read32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }

static inline uint64_t round64(uint64_t acc, uint64_t lane) {
    acc += lane * P2;
    acc = rotl64(acc, 31);
    return acc * P1;
}

static inline uint64_t merge64(uint64_t acc, uint64_t v) {
    acc ^= round64(0, v);
    return acc * P1 + P4;
}

// Streaming XXH64: 32-byte stripes through four lanes, with up to 31 bytes carried between calls.
// The one-shot sito_xxh64 at the end of the file is reset + update + digest.

void sito_xxh64_reset(sito_xxh64_state *state, uint64_t seed) {
    memset(state, 0, sizeof *state);
    state->seed = seed;
    state->v[0] = seed + P1 + P2;
    state->v[1] = seed + P2;
    state->v[2] = seed;
    state->v[3] = seed - P1;
}

static inline void consume_stripe(uint64_t v[4], const uint8_t *p) {
    v[0] = round64(v[0], read64(p));
    v[1] = round64(v[1], read64(p + 8));
    v[2] = round64(v[2], read64(p + 16));
    v[3] = round64(v[3], read64(p + 24));
}

void sito_xxh64_update(sito_xxh64_state *state, const void *data, size_t length) {
    const uint8_t *p = (const uint8_t *)data;
    state->total_length += length;
    if (state->buffered + length < 32) {
        if (length) memcpy(state->buffer + state->buffered, p, length);
        state->buffered += (uint32_t)length;
        return;
    }
    if (state->buffered) {
        size_t fill = 32 - state->buffered;
        memcpy(state->buffer + state->buffered, p, fill);
        consume_stripe(state->v, state->buffer);
        p += fill;
        length -= fill;
        state->buffered = 0;
    }
    while (length >= 32) {
        consume_stripe(state->v, p);
        p += 32;
        length -= 32;
    }
    if (length) memcpy(state->buffer, p, length);
    state->buffered = (uint32_t)length;
}

uint64_t sito_xxh64_digest(const sito_xxh64_state *state) {
    uint64_t h;
    if (state->total_length >= 32) {
        const uint64_t *v = state->v;
        h = rotl64(v[0], 1) + rotl64(v[1], 7) + rotl64(v[2], 12) + rotl64(v[3], 18);
        h = merge64(h, v[0]);
        h = merge64(h, v[1]);
        h = merge64(h, v[2]);
        h = merge64(h, v[3]);
    } else {
        h = state->seed + P5;
    }
    h += state->total_length;
    const uint8_t *p = state->buffer;
    const uint8_t *end = p + state->buffered;
    while (p + 8 <= end) {
        h ^= round64(0, read64(p));
        h = rotl64(h, 27) * P1 + P4;
        p += 8;
    }
    if (p + 4 <= end) {
        h ^= (uint64_t)read32(p) * P1;
        h = rotl64(h, 23) * P2 + P3;
        p += 4;
    }
    while (p < end) {
        h ^= (*p) * P5;
        h = rotl64(h, 11) * P1;
        p++;
    }
    h ^= h >> 33;
    h *= P2;
    h ^= h >> 29;
    h *= P3;
    h ^= h >> 32;
    return h;
}

uint64_t sito_xxh64(const void *data, size_t length, uint64_t seed) {
    sito_xxh64_state state;
    sito_xxh64_reset(&state, seed);
    sito_xxh64_update(&state, data, length);
    return sito_xxh64_digest(&state);
}
