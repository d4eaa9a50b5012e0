// COpenBLAS: exposes OpenBLAS's CBLAS interface (cblas_sgemm and friends) to Swift.
#pragma once
#include <cblas.h>
// Thread control, declared by OpenBLAS's cblas.h; repeated here in case another CBLAS header is found first.
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
