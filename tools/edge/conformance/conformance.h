// conformance.h: the shared API of the kernel conformance driver (tools/edge/conformance). The driver
// (main.c) is compiled together with Sources/CSitoKernels/*.c and every *.c in this folder; each check
// file runs kernel paths against their scalar references and records the outcome with conf_report.
//   int_checks.c: conformance_int (int8/bf16 GEMMs, quantize, conversions, the int8-a16 kernels)
//   f32_checks.c: conformance_f32 (f32 GEMM, exp/GELU/LayerNorm/softmax, attention); until it exists,
//                 main.c's weak default reports nothing.
#pragma once
#include <stdint.h>

typedef struct { int passed; int failed; } conf_state;
/* Records one check: kernel name, path name, ok flag, worst error seen (or 0), and a short note. Prints failures. */
void conf_report(conf_state *st, const char *kernel, const char *path, int ok, double worst, const char *note);
/* Deterministic pseudo-random numbers for inputs. */
uint64_t conf_rand(uint64_t *state);
float conf_randf(uint64_t *state);  /* uniform in [-1, 1) */
void conformance_int(conf_state *st);  /* yours: int8/bf16 GEMMs, quantize, conversions */
void conformance_f32(conf_state *st);  /* the f32 helper's: f32 GEMM, exp/GELU/LayerNorm/softmax, attention (in f32_checks.c) */
