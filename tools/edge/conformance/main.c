// main.c: the kernel conformance driver (tools/edge/test-aarch64.sh builds it natively and for
// aarch64-linux-gnu, together with Sources/CSitoKernels/*.c and every *.c in this folder).
// Prints the detected instruction-set level and the path every kernel selects at the level in effect,
// runs every path this CPU has against the scalar reference (conformance_int, conformance_f32), and ends
// with one line "conformance: N passed, M failed"; exit status 1 on any failure.
//   conformance [--expect-isa NAME] [--verbose]
//     --expect-isa NAME  also fail unless the detected level is NAME (e.g. neon-dotprod under qemu -cpu cortex-a76)
//     --verbose          print passing checks too (failures are always printed)
#include "conformance.h"
#include "sito_kernels.h"
#include <stdio.h>
#include <string.h>

static int verbose = 0;

void conf_report(conf_state *st, const char *kernel, const char *path, int ok, double worst, const char *note) {
    if (ok) {
        st->passed++;
        if (verbose) printf("  ok    %-20s %-22s worst %-10.3g %s\n", kernel, path, worst, note ? note : "");
    } else {
        st->failed++;
        printf("  FAIL  %-20s %-22s worst %-10.3g %s\n", kernel, path, worst, note ? note : "");
    }
    fflush(stdout);
}

/// SplitMix64, the generator of Tests/CSitoKernelsTests (TestRNG).
uint64_t conf_rand(uint64_t *state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

float conf_randf(uint64_t *state) { return (float)(conf_rand(state) >> 40) * 0x1p-23f - 1.0f; }

/// Until f32_checks.c provides it, the f32 kernels are not checked here (their own tests cover x86).
__attribute__((weak)) void conformance_f32(conf_state *st) { (void)st; }

int main(int argc, char **argv) {
    const char *expect = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--expect-isa") == 0 && i + 1 < argc) expect = argv[++i];
        else if (strcmp(argv[i], "--verbose") == 0) verbose = 1;
        else {
            fprintf(stderr, "usage: %s [--expect-isa NAME] [--verbose]\n", argv[0]);
            return 2;
        }
    }
    conf_state st = {0, 0};
    const sito_isa detected = sito_kernels_detect_isa(), level = sito_kernels_isa();
    printf("detected isa: %s; in effect: %s\n", sito_kernels_isa_name(detected), sito_kernels_isa_name(level));
    printf("paths: gemm_i8 %s, gemm_i8_a16 %s, gemm_bf16 %s, quantize %s, f32_to_bf16 %s, gemm_f32 %s, f32ops %s, "
           "attention f32 %s, attention bf16 %s\n",
           sito_gemm_i8_path_name(level), sito_gemm_i8_a16_path_name(level), sito_gemm_bf16_path_name(level),
           sito_quantize_path_name(level),
           sito_convert_path_name(level), sito_gemm_f32_path_name(level), sito_f32ops_path_name(level),
           sito_attention_path_name(level, 0), sito_attention_path_name(level, 1));
    if (expect) {
        const int ok = strcmp(expect, sito_kernels_isa_name(detected)) == 0;
        char note[96];
        snprintf(note, sizeof note, "expected %s, detected %s", expect, sito_kernels_isa_name(detected));
        conf_report(&st, "detect_isa", sito_kernels_isa_name(detected), ok, 0, note);
    }
    conformance_int(&st);
    conformance_f32(&st);
    printf("conformance: %d passed, %d failed\n", st.passed, st.failed);
    return st.failed ? 1 : 0;
}
