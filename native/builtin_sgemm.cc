// See builtin_sgemm.h. Classic GotoBLAS structure without the cache blocking
// of k: op(B) is packed once into 16-column panels (k×16, zero padded), each
// 6-row block of op(A) into a k×6 strip, and a 6×16 micro-kernel keeps its
// 12 accumulators of 8 floats in registers over the whole of k.
#include "builtin_sgemm.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

namespace peerc {
namespace {

typedef float v8 __attribute__((vector_size(32)));
constexpr int kRows = 6;
constexpr int kCols = 16;

void PackB(bool transB, const float* b, int64_t ldb, int64_t k, int64_t n, float* out) {
  for (int64_t j0 = 0; j0 < n; j0 += kCols) {
    const int64_t width = std::min<int64_t>(kCols, n - j0);
    float* panel = out + (j0 / kCols) * k * kCols;
    for (int64_t p = 0; p < k; p++) {
      float* dst = panel + p * kCols;
      for (int64_t j = 0; j < width; j++) dst[j] = transB ? b[(j0 + j) * ldb + p] : b[p * ldb + j0 + j];
      for (int64_t j = width; j < kCols; j++) dst[j] = 0.0f;
    }
  }
}

void PackA(bool transA, const float* a, int64_t lda, int64_t i0, int64_t rows, int64_t k, float* out) {
  for (int64_t p = 0; p < k; p++) {
    for (int64_t i = 0; i < kRows; i++) {
      out[p * kRows + i] = i < rows ? (transA ? a[p * lda + i0 + i] : a[(i0 + i) * lda + p]) : 0.0f;
    }
  }
}

// The same source twice: once compiled for AVX2+FMA (the build passes -ffp-contract=fast, so a*b+c is one FMA).
#define PEERC_MICRO_KERNEL_BODY                                   \
  v8 acc[kRows][2] = {};                                          \
  for (int64_t p = 0; p < k; p++) {                               \
    v8 b0, b1;                                                    \
    std::memcpy(&b0, bp + p * kCols, sizeof b0);                  \
    std::memcpy(&b1, bp + p * kCols + 8, sizeof b1);              \
    for (int i = 0; i < kRows; i++) {                             \
      const float av = ap[p * kRows + i];                         \
      acc[i][0] += av * b0;                                       \
      acc[i][1] += av * b1;                                       \
    }                                                             \
  }                                                               \
  for (int i = 0; i < rows; i++) {                                \
    float row[kCols];                                             \
    std::memcpy(row, &acc[i][0], sizeof acc[i][0]);               \
    std::memcpy(row + 8, &acc[i][1], sizeof acc[i][1]);           \
    std::memcpy(c + i * ldc, row, sizeof(float) * cols);          \
  }

using MicroKernel = void (*)(const float* ap, const float* bp, int64_t k, float* c, int64_t ldc, int rows, int cols);

#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx2,fma"))) void MicroAvx2(const float* ap, const float* bp, int64_t k, float* c, int64_t ldc, int rows,
                                                   int cols) {
  PEERC_MICRO_KERNEL_BODY
}
#endif

void MicroGeneric(const float* ap, const float* bp, int64_t k, float* c, int64_t ldc, int rows, int cols) {
  PEERC_MICRO_KERNEL_BODY
}

bool HasAvx2Fma() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return false;
#endif
}

}  // namespace

#if defined(__x86_64__) || defined(__i386__)
const char* BuiltinSgemmIsa() { return HasAvx2Fma() ? "AVX2+FMA" : "SSE2"; }
#else
const char* BuiltinSgemmIsa() { return "generic"; }
#endif

void BuiltinSgemm(bool transA, bool transB, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
                  int64_t ldb, float* c, int64_t ldc, int threads) {
#if defined(__x86_64__) || defined(__i386__)
  static const MicroKernel micro = HasAvx2Fma() ? MicroAvx2 : MicroGeneric;
#else
  static const MicroKernel micro = MicroGeneric;
#endif
  const int64_t panels = (n + kCols - 1) / kCols;
  std::unique_ptr<float[]> packedB(new float[panels * k * kCols]);
  PackB(transB, b, ldb, k, n, packedB.get());
  const int64_t blocks = (m + kRows - 1) / kRows;
  auto work = [&](int64_t first, int64_t last) {
    std::unique_ptr<float[]> packedA(new float[k * kRows]);
    for (int64_t block = first; block < last; block++) {
      const int64_t i0 = block * kRows;
      const int rows = static_cast<int>(std::min<int64_t>(kRows, m - i0));
      PackA(transA, a, lda, i0, rows, k, packedA.get());
      for (int64_t panel = 0; panel < panels; panel++) {
        const int cols = static_cast<int>(std::min<int64_t>(kCols, n - panel * kCols));
        micro(packedA.get(), packedB.get() + panel * k * kCols, k, c + i0 * ldc + panel * kCols, ldc, rows, cols);
      }
    }
  };
  const int64_t parts = std::max<int64_t>(1, std::min<int64_t>(threads, blocks));
  std::vector<std::thread> helpers;
  int64_t inline_from = parts;  // parts not handed to a thread run here
  for (int64_t t = 1; t < parts; t++) {
    try {
      helpers.emplace_back(work, blocks * t / parts, blocks * (t + 1) / parts);
    } catch (...) {
      inline_from = t;
      break;
    }
  }
  work(0, blocks / parts);
  for (int64_t t = inline_from; t < parts; t++) work(blocks * t / parts, blocks * (t + 1) / parts);
  for (auto& helper : helpers) helper.join();
}

}  // namespace peerc
