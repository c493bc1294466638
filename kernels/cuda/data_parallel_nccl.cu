// The CUDA side of kernels/data_parallel.h: NCCL loaded with dlopen (the build needs only nccl.h), one
// communicator per process, collectives on the compute stream so they order with the kernels around them.
#include <dlfcn.h>
#include <nccl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "kernels/cuda/cuda_common.cuh"
#include "kernels/data_parallel.h"

namespace ms::dp {

namespace {

struct Nccl {
  decltype(&ncclGetUniqueId) get_unique_id = nullptr;
  decltype(&ncclCommInitRank) comm_init_rank = nullptr;
  decltype(&ncclAllReduce) all_reduce = nullptr;
  decltype(&ncclBroadcast) broadcast = nullptr;
  decltype(&ncclGroupStart) group_start = nullptr;
  decltype(&ncclGroupEnd) group_end = nullptr;
  decltype(&ncclGetErrorString) error_string = nullptr;
};

struct Group {
  Env env;
  bool ready = false;
  Nccl nccl;
  ncclComm_t comm = nullptr;
  double* host_buf = nullptr;  // device scratch for host all-reduces
  size_t host_cap = 0;
};

Group& group() {
  static Group g;
  return g;
}

void check_nccl(ncclResult_t r, const char* what) {
  if (r != ncclSuccess)
    MS_FAIL("NCCL ", what, " failed on data-parallel rank ", group().env.rank, ": ",
            group().nccl.error_string ? group().nccl.error_string(r) : "unknown error");
}

template <class F>
void bind_symbol(void* lib, const char* name, F& f, const std::string& path) {
  f = reinterpret_cast<F>(dlsym(lib, name));
  if (!f) MS_FAIL(path, " has no ", name, " (is it NCCL 2.x?)");
}

Nccl load_nccl() {
  const char* env = std::getenv("MAMBASEQ_NCCL_LIB");
  const std::string path = env && *env ? env : "libnccl.so.2";
  void* lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib)
    MS_FAIL("data-parallel training needs NCCL: cannot load ", path, " (", dlerror(),
            "); install NCCL, add its lib folder to LD_LIBRARY_PATH or set MAMBASEQ_NCCL_LIB to the library");
  Nccl n;
  bind_symbol(lib, "ncclGetUniqueId", n.get_unique_id, path);
  bind_symbol(lib, "ncclCommInitRank", n.comm_init_rank, path);
  bind_symbol(lib, "ncclAllReduce", n.all_reduce, path);
  bind_symbol(lib, "ncclBroadcast", n.broadcast, path);
  bind_symbol(lib, "ncclGroupStart", n.group_start, path);
  bind_symbol(lib, "ncclGroupEnd", n.group_end, path);
  bind_symbol(lib, "ncclGetErrorString", n.error_string, path);
  return n;
}

// Rank 0 writes the id (temp file + rename: readers never see half of it); the others wait for it.
ncclUniqueId exchange_id(const Env& env, const Nccl& n) {
  ncclUniqueId id;
  if (env.rank == 0) {
    check_nccl(n.get_unique_id(&id), "ncclGetUniqueId");
    const std::string tmp = env.id_file + ".tmp";
    {
      std::ofstream f(tmp, std::ios::binary);
      f.write(reinterpret_cast<const char*>(&id), sizeof id);
      if (!f) MS_FAIL(tmp, ": cannot write the NCCL id");
    }
    std::filesystem::rename(tmp, env.id_file);
    return id;
  }
  const auto start = std::chrono::steady_clock::now();
  for (;;) {
    std::ifstream f(env.id_file, std::ios::binary);
    if (f && f.read(reinterpret_cast<char*>(&id), sizeof id)) return id;
    if (std::chrono::steady_clock::now() - start > std::chrono::seconds(300))
      MS_FAIL("data-parallel rank ", env.rank, ": rank 0 did not publish its NCCL id in ", env.id_file,
              " within 300 s (did it fail to start?)");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

ncclDataType_t nccl_type(const Tensor& t) {
  if (t.dtype() == DType::f32) return ncclFloat32;
  if (t.dtype() == DType::bf16) return ncclBfloat16;
  MS_FAIL("data-parallel collectives take f32 or bf16 tensors, got ", t.describe());
}

void check_tensor(const Tensor& t) {
  MS_CHECK(t.is_cuda() && t.is_contiguous(), "data-parallel collectives take contiguous CUDA tensors, got ",
           t.describe());
}

}  // namespace

void init(const Env& env) {
  Group& g = group();
  if (g.ready) {
    MS_CHECK(g.env.rank == env.rank && g.env.world == env.world, "data-parallel group already joined as rank ",
             g.env.rank, " of ", g.env.world);
    return;
  }
  g.env = env;
  if (env.world > 1) {
    g.nccl = load_nccl();
    const ncclUniqueId id = exchange_id(env, g.nccl);
    check_nccl(g.nccl.comm_init_rank(&g.comm, env.world, id, env.rank), "ncclCommInitRank");
    g.host_cap = 64;
    MS_CUDA_CHECK(cudaMalloc(&g.host_buf, g.host_cap * sizeof(double)));
  }
  g.ready = true;
}

int rank() { return group().env.rank; }
int world() { return group().env.world; }

void all_reduce_sum(const std::vector<Tensor>& tensors) {
  Group& g = group();
  if (g.env.world < 2) return;
  check_nccl(g.nccl.group_start(), "ncclGroupStart");
  for (const Tensor& t : tensors) {
    check_tensor(t);
    check_nccl(g.nccl.all_reduce(t.raw(), t.raw(), static_cast<size_t>(t.numel()), nccl_type(t), ncclSum, g.comm,
                                 cuda::stream()),
               "ncclAllReduce");
  }
  check_nccl(g.nccl.group_end(), "ncclGroupEnd");
}

void broadcast_from_first(const std::vector<Tensor>& tensors) {
  Group& g = group();
  if (g.env.world < 2) return;
  check_nccl(g.nccl.group_start(), "ncclGroupStart");
  for (const Tensor& t : tensors) {
    check_tensor(t);
    check_nccl(g.nccl.broadcast(t.raw(), t.raw(), static_cast<size_t>(t.numel()), nccl_type(t), 0, g.comm,
                                cuda::stream()),
               "ncclBroadcast");
  }
  check_nccl(g.nccl.group_end(), "ncclGroupEnd");
}

void all_reduce_sum(std::vector<double>& values) {
  Group& g = group();
  if (g.env.world < 2 || values.empty()) return;
  MS_CHECK(values.size() <= g.host_cap, "data-parallel host all-reduce of ", values.size(), " values (at most ",
           g.host_cap, ")");
  const size_t bytes = values.size() * sizeof(double);
  MS_CUDA_CHECK(cudaMemcpyAsync(g.host_buf, values.data(), bytes, cudaMemcpyHostToDevice, cuda::stream()));
  check_nccl(g.nccl.all_reduce(g.host_buf, g.host_buf, values.size(), ncclFloat64, ncclSum, g.comm, cuda::stream()),
             "ncclAllReduce");
  MS_CUDA_CHECK(cudaMemcpyAsync(values.data(), g.host_buf, bytes, cudaMemcpyDeviceToHost, cuda::stream()));
  MS_CUDA_CHECK(cudaStreamSynchronize(cuda::stream()));
}

}  // namespace ms::dp
