// peerc's native host kernels: single-precision GEMM on caller-owned float
// memory (the wasm backend's heap views), through the system OpenBLAS, or
// peerc's own kernel (builtin_sgemm.cc) where OpenBLAS is missing.
//
// OpenBLAS is opened with dlopen at run time, not linked, so the addon builds
// without any -dev package and loads everywhere. Plain C N-API (ABI stable):
// no node-addon-api, no npm dependency.
//
// JS API (see runtime/backend/kernels/native-matmul.ts):
//   load(libraryName) -> { ok: true, config, threads } | { ok: false, why }   (OpenBLAS; then active)
//   useKernel("openblas" | "builtin") -> whether that kernel is now active
//   builtinIsa() -> "AVX2+FMA" | "SSE2"
//   setThreads(n) -> threads now in use
//   sgemm(transA, transB, m, n, k, a, aOffset, lda, b, bOffset, ldb, c, cOffset, ldc)
//     row-major C[m,n] = op(A)[m,k] · op(B)[k,n] on the active kernel; a, b, c
//     are Float32Arrays, offsets and leading dimensions in elements. Bounds are
//     checked here, so a wrong call throws instead of writing outside the array.
#include <dlfcn.h>
#include <node_api.h>

#include "builtin_sgemm.h"

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

namespace {

// The CBLAS enum values (cblas.h); declared here because no -dev package is needed.
constexpr int kRowMajor = 101;
constexpr int kNoTrans = 111;
constexpr int kTrans = 112;

using SgemmFn = void (*)(int order, int transA, int transB, int m, int n, int k, float alpha, const float* a, int lda,
                         const float* b, int ldb, float beta, float* c, int ldc);
using SetThreadsFn = void (*)(int);
using GetThreadsFn = int (*)();
using GetConfigFn = char* (*)();

SgemmFn sgemm = nullptr;
SetThreadsFn setThreads = nullptr;
GetThreadsFn getThreads = nullptr;
GetConfigFn getConfig = nullptr;
int configuredThreads = 1;
enum class Kernel { kNone, kOpenBlas, kBuiltin };
Kernel active = Kernel::kNone;

// Products below this many multiply-adds (m·n·k) run on one thread: waking the
// other threads costs more than it saves there (the attention's per-head
// [128,64]·[64,128] products ran 4× slower on 2 threads on a busy machine).
// OpenBLAS's own cut-off is 65536·4.
constexpr int64_t kSingleThreadMnk = int64_t{1} << 22;

napi_value Throw(napi_env env, const std::string& message) {
  napi_throw_error(env, nullptr, message.c_str());
  return nullptr;
}

#define CHECK_NAPI(call)                                 \
  do {                                                   \
    if ((call) != napi_ok) return Throw(env, #call);     \
  } while (0)

napi_value MakeString(napi_env env, const std::string& s) {
  napi_value v;
  napi_create_string_utf8(env, s.c_str(), s.size(), &v);
  return v;
}

napi_value MakeInt(napi_env env, int64_t i) {
  napi_value v;
  napi_create_int64(env, i, &v);
  return v;
}

napi_value MakeBool(napi_env env, bool b) {
  napi_value v;
  napi_get_boolean(env, b, &v);
  return v;
}

int CurrentThreads() { return getThreads != nullptr ? getThreads() : 1; }

// load(libraryName): opens OpenBLAS and looks up the symbols used. Idempotent.
napi_value Load(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK_NAPI(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  char name[4096] = "libopenblas.so.0";
  if (argc >= 1) {
    size_t len = 0;
    CHECK_NAPI(napi_get_value_string_utf8(env, argv[0], name, sizeof name, &len));
  }
  napi_value result;
  CHECK_NAPI(napi_create_object(env, &result));
  if (sgemm == nullptr) {
    void* lib = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    const char* why = nullptr;
    std::string detail;
    if (lib == nullptr) {
      const char* e = dlerror();
      detail = e != nullptr ? e : "dlopen failed";
      why = detail.c_str();
    } else {
      auto fn = reinterpret_cast<SgemmFn>(dlsym(lib, "cblas_sgemm"));
      if (fn == nullptr) {
        detail = std::string(name) + " has no cblas_sgemm";
        why = detail.c_str();
        dlclose(lib);
      } else {
        setThreads = reinterpret_cast<SetThreadsFn>(dlsym(lib, "openblas_set_num_threads"));
        getThreads = reinterpret_cast<GetThreadsFn>(dlsym(lib, "openblas_get_num_threads"));
        getConfig = reinterpret_cast<GetConfigFn>(dlsym(lib, "openblas_get_config"));
        sgemm = fn;  // the library stays open for the life of the process
        configuredThreads = getThreads != nullptr ? getThreads() : 1;
        active = Kernel::kOpenBlas;
      }
    }
    if (why != nullptr) {
      napi_set_named_property(env, result, "ok", MakeBool(env, false));
      napi_set_named_property(env, result, "why", MakeString(env, why));
      return result;
    }
  }
  const char* config = getConfig != nullptr ? getConfig() : nullptr;
  napi_set_named_property(env, result, "ok", MakeBool(env, true));
  napi_set_named_property(env, result, "config", MakeString(env, config != nullptr ? config : "BLAS (cblas_sgemm)"));
  napi_set_named_property(env, result, "threads", MakeInt(env, CurrentThreads()));
  return result;
}

napi_value SetThreads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK_NAPI(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  int32_t n = 1;
  if (argc < 1 || napi_get_value_int32(env, argv[0], &n) != napi_ok || n < 1) return Throw(env, "setThreads: expected a positive integer");
  if (setThreads != nullptr) setThreads(n);
  configuredThreads = sgemm != nullptr ? CurrentThreads() : n;
  return MakeInt(env, configuredThreads);
}

napi_value UseKernel(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK_NAPI(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  char name[16] = "";
  size_t len = 0;
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], name, sizeof name, &len) != napi_ok) {
    return Throw(env, "useKernel: expected \"openblas\" or \"builtin\"");
  }
  const std::string kernel(name, len);
  if (kernel == "builtin") {
    active = Kernel::kBuiltin;
  } else if (kernel == "openblas") {
    if (sgemm != nullptr) active = Kernel::kOpenBlas;
    return MakeBool(env, sgemm != nullptr);
  } else {
    return Throw(env, "useKernel: expected \"openblas\" or \"builtin\"");
  }
  return MakeBool(env, true);
}

napi_value BuiltinIsa(napi_env env, napi_callback_info) { return MakeString(env, peerc::BuiltinSgemmIsa()); }

struct FloatArg {
  float* data = nullptr;
  size_t length = 0;
};

bool GetFloatArray(napi_env env, napi_value value, FloatArg* out) {
  bool is = false;
  if (napi_is_typedarray(env, value, &is) != napi_ok || !is) return false;
  napi_typedarray_type type;
  void* data = nullptr;
  if (napi_get_typedarray_info(env, value, &type, &out->length, &data, nullptr, nullptr) != napi_ok) return false;
  if (type != napi_float32_array) return false;
  out->data = static_cast<float*>(data);
  return true;
}

// Elements a row-major rows×cols operand with leading dimension ld spans from its offset.
bool Fits(const FloatArg& arr, int64_t offset, int64_t rows, int64_t cols, int64_t ld) {
  if (offset < 0) return false;
  if (rows == 0 || cols == 0) return offset <= static_cast<int64_t>(arr.length);
  if (ld < cols) return false;
  return offset + (rows - 1) * ld + cols <= static_cast<int64_t>(arr.length);
}

napi_value Sgemm(napi_env env, napi_callback_info info) {
  if (active == Kernel::kNone) return Throw(env, "sgemm: no kernel is active (call load or useKernel first)");
  size_t argc = 14;
  napi_value argv[14];
  CHECK_NAPI(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  if (argc != 14) return Throw(env, "sgemm: expected 14 arguments");
  bool transA = false, transB = false;
  CHECK_NAPI(napi_get_value_bool(env, argv[0], &transA));
  CHECK_NAPI(napi_get_value_bool(env, argv[1], &transB));
  int64_t m, n, k, aOff, lda, bOff, ldb, cOff, ldc;
  CHECK_NAPI(napi_get_value_int64(env, argv[2], &m));
  CHECK_NAPI(napi_get_value_int64(env, argv[3], &n));
  CHECK_NAPI(napi_get_value_int64(env, argv[4], &k));
  FloatArg a, b, c;
  if (!GetFloatArray(env, argv[5], &a) || !GetFloatArray(env, argv[8], &b) || !GetFloatArray(env, argv[11], &c)) {
    return Throw(env, "sgemm: a, b and c must be Float32Arrays");
  }
  CHECK_NAPI(napi_get_value_int64(env, argv[6], &aOff));
  CHECK_NAPI(napi_get_value_int64(env, argv[7], &lda));
  CHECK_NAPI(napi_get_value_int64(env, argv[9], &bOff));
  CHECK_NAPI(napi_get_value_int64(env, argv[10], &ldb));
  CHECK_NAPI(napi_get_value_int64(env, argv[12], &cOff));
  CHECK_NAPI(napi_get_value_int64(env, argv[13], &ldc));
  const int64_t limit = INT32_MAX;
  if (m < 0 || n < 0 || k < 0 || m > limit || n > limit || k > limit || lda > limit || ldb > limit || ldc > limit) {
    return Throw(env, "sgemm: sizes must be non-negative 32-bit integers");
  }
  // Stored shapes: A is m×k (k×m when transposed), B is k×n (n×k when transposed).
  const bool ok = Fits(a, aOff, transA ? k : m, transA ? m : k, lda) && Fits(b, bOff, transB ? n : k, transB ? k : n, ldb) &&
                  Fits(c, cOff, m, n, ldc);
  if (!ok) return Throw(env, "sgemm: an operand does not fit its array (offset, shape or leading dimension)");
  if (m == 0 || n == 0) return nullptr;
  if (k == 0) {
    for (int64_t i = 0; i < m; i++) std::memset(c.data + cOff + i * ldc, 0, sizeof(float) * n);
    return nullptr;
  }
  const bool narrow = configuredThreads > 1 && m * n * k < kSingleThreadMnk;
  if (active == Kernel::kBuiltin) {
    peerc::BuiltinSgemm(transA, transB, m, n, k, a.data + aOff, lda, b.data + bOff, ldb, c.data + cOff, ldc,
                        narrow ? 1 : configuredThreads);
    return nullptr;
  }
  if (narrow && setThreads != nullptr) setThreads(1);
  sgemm(kRowMajor, transA ? kTrans : kNoTrans, transB ? kTrans : kNoTrans, static_cast<int>(m), static_cast<int>(n),
        static_cast<int>(k), 1.0f, a.data + aOff, static_cast<int>(lda), b.data + bOff, static_cast<int>(ldb), 0.0f,
        c.data + cOff, static_cast<int>(ldc));
  if (narrow && setThreads != nullptr) setThreads(configuredThreads);
  return nullptr;
}

napi_value Init(napi_env env, napi_value exports) {
  const napi_property_descriptor props[] = {
      {"load", nullptr, Load, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setThreads", nullptr, SetThreads, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"useKernel", nullptr, UseKernel, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"builtinIsa", nullptr, BuiltinIsa, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"sgemm", nullptr, Sgemm, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
