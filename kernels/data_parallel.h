// Data-parallel training over the GPUs of one host: one process per GPU (started by the launcher in
// pipelines/data_parallel_launch.h), the gradients summed across them with NCCL after every backward.
// A process belongs to a group when the launcher set MAMBASEQ_DP_RANK, MAMBASEQ_DP_WORLD and
// MAMBASEQ_DP_ID_FILE; otherwise its group is itself (world 1) and every function here is a no-op.
// NCCL (libnccl.so.2, or the file named by MAMBASEQ_NCCL_LIB) is loaded at run time, so builds and
// single-GPU runs do not depend on it.
#pragma once
#include <string>
#include <vector>

#include "kernels/tensor.h"

namespace ms::dp {

struct Env {
  int rank = 0, world = 1;
  std::string id_file;  // where rank 0 publishes the NCCL id for the others
};

// The group this process was started in (world 1 when the variables are unset); a malformed value is
// an error naming the variable.
Env env_from_environment();
bool is_worker();  // started by the launcher

// Joins the group (world > 1: needs the CUDA build and one visible GPU per process). Idempotent.
void init(const Env& env);
int rank();
int world();
inline bool active() { return world() > 1; }

// In place, on the compute stream, across the group: sums of CUDA tensors (f32 or bf16, same shapes on
// every rank; one NCCL group call for the list), rank 0's values to every rank, and sums of host values.
void all_reduce_sum(const std::vector<Tensor>& tensors);
void broadcast_from_first(const std::vector<Tensor>& tensors);
void all_reduce_sum(std::vector<double>& values);

}  // namespace ms::dp
