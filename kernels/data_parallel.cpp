#include "kernels/data_parallel.h"

#include <cstdlib>
#include <string>

#include "kernels/check.h"

namespace ms::dp {

namespace {

int int_from_env(const char* name, int fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  const long x = std::strtol(v, &end, 10);
  if (*end != '\0' || x < 0 || x > 4096) MS_FAIL(name, "=", v, " is not a rank or group size (set by the data-parallel launcher)");
  return static_cast<int>(x);
}

}  // namespace

bool is_worker() {
  const char* v = std::getenv("MAMBASEQ_DP_RANK");
  return v && *v;
}

Env env_from_environment() {
  Env e;
  if (!is_worker()) return e;
  e.rank = int_from_env("MAMBASEQ_DP_RANK", 0);
  e.world = int_from_env("MAMBASEQ_DP_WORLD", 1);
  const char* f = std::getenv("MAMBASEQ_DP_ID_FILE");
  e.id_file = f ? f : "";
  if (e.world < 1 || e.rank >= e.world)
    MS_FAIL("MAMBASEQ_DP_RANK=", e.rank, " is not below MAMBASEQ_DP_WORLD=", e.world);
  if (e.world > 1 && e.id_file.empty()) MS_FAIL("MAMBASEQ_DP_ID_FILE is not set (set by the data-parallel launcher)");
  return e;
}

#if !MAMBASEQ_WITH_CUDA
// CPU build: only groups of one.
void init(const Env& env) {
  if (env.world > 1) MS_FAIL("data-parallel training over ", env.world, " GPUs needs the CUDA build of mambaseq");
}
int rank() { return 0; }
int world() { return 1; }
void all_reduce_sum(const std::vector<Tensor>&) {}
void broadcast_from_first(const std::vector<Tensor>&) {}
void all_reduce_sum(std::vector<double>&) {}
#endif

}  // namespace ms::dp
