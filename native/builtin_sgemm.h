// peerc's own single-precision GEMM, for machines without OpenBLAS: packed
// 6×16 register blocks, an AVX2+FMA build of the inner kernel chosen at run
// time (SSE2 otherwise), rows split over threads. Each output element is
// summed in the same order whatever the thread count.
#pragma once
#include <cstdint>

namespace peerc {

// Row-major C[m,n] = op(A)[m,k] · op(B)[k,n] (C is overwritten). Sizes are checked by the caller.
void BuiltinSgemm(bool transA, bool transB, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
                  int64_t ldb, float* c, int64_t ldc, int threads);

// "AVX2+FMA" or "SSE2" on x86 ("generic" elsewhere): the inner kernel this CPU runs.
const char* BuiltinSgemmIsa();

}  // namespace peerc
