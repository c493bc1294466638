// The Mamba mixer (mamba_ssm's `Mamba` module) with explicit forward, backward and recurrent step.
// Inside the block tensors use mamba_ssm's sequence-last layout and are never transposed by a copy:
//   h (B, L, d_model) -in_proj-> xz (B, 2D, L) = [x; z] -conv1d+SiLU-> xc (B, D, L) -x_proj-> x_dbl (B, R+2N, L)
//   = [delta_low; B; C] (row slices are the scan's views) -dt_proj-> delta (B, D, L) -scan(+D, z gate,
//   softplus(delta + dt_proj.bias))-> y (B, D, L) -out_proj-> out (B, L, d_model).
// Complex SSM: x_proj has R+4N rows and B, C are (B, 1, N, 2, L) views (rows R + 2n + {re, im}).
// Every computation goes through ops (kernels/*.h), so the same code runs on CPU and CUDA, in f32 or f64.
// See docs/model.md for what is saved and what is recomputed.
#pragma once
#include <string>

#include "kernels/selective_scan.h"
#include "model/config.h"
#include "model/params.h"

namespace ms {

struct BlockDims {
  int64_t d_model = 0, d_inner = 0, d_state = 0, d_conv = 0, dt_rank = 0;
  bool complex = false;
  int64_t x_proj_rows() const { return dt_rank + (complex ? 4 : 2) * d_state; }
  static BlockDims from(const MambaConfig& cfg);
};

// Where a block's parameters live in a ParamStore (A_imag = -1 for a real SSM).
struct BlockParamIds {
  int in_proj = -1, conv_w = -1, conv_b = -1, x_proj = -1, dt_proj_w = -1, dt_proj_b = -1, A_log = -1,
      A_imag = -1, D = -1, out_proj = -1;
};

// The block's parameter tensors (values, or gradients), resolved from a store for one call.
struct BlockTensors {
  Tensor in_proj;    // (2D, d_model)
  Tensor conv_w;     // (D, K)   PyTorch's Conv1d weight is (D, 1, K): same memory, drop the 1
  Tensor conv_b;     // (D)
  Tensor x_proj;     // (R + 2N, D), complex (R + 4N, D)
  Tensor dt_proj_w;  // (D, R)
  Tensor dt_proj_b;  // (D)   the scan's delta_bias
  Tensor A_log;      // (D, N)
  Tensor A_imag;     // (D, N) complex only
  Tensor D;          // (D)
  Tensor out_proj;   // (d_model, D)
};

// Registers and initializes a mixer's parameters under `prefix` ("backbone.layers.3.mixer") as mamba_ssm
// does; out_proj.weight is scaled by `out_proj_scale` (1/sqrt(n_layer) in MambaLM).
BlockParamIds add_mamba_block_params(ParamStore& store, const std::string& prefix, const BlockDims& dims,
                                     const MambaConfig& init, double out_proj_scale, DType dtype, Device device);
BlockTensors block_values(const ParamStore& store, const BlockParamIds& ids);
BlockTensors block_grads(const ParamStore& store, const BlockParamIds& ids);

// Recurrent state of one block: what a sequence leaves behind for its continuation.
struct BlockState {
  Tensor conv;  // (B, D, K-1): the last K-1 conv inputs (x), activation dtype
  Tensor ssm;   // (B, D, N) or (B, D, N, 2): the scan state, f32 (f64 for an f64 model)
};
BlockState make_block_state(const BlockDims& dims, int64_t batch, DType dtype, Device device);  // zeros

// What forward keeps for backward. Everything else (conv output, delta, A, the scan states inside a chunk)
// is recomputed.
struct BlockSaved {
  Tensor h;      // (B, L, d_model) block input (for in_proj's weight gradient)
  Tensor xz;     // (B, 2D, L)
  Tensor x_dbl;  // (B, R+2N, L)
  Tensor y;      // (B, D, L) gated scan output (for out_proj's weight gradient)
  SelectiveScanSaved scan;       // chunk entry states
  Tensor conv_init, ssm_init;    // states the sequence started from (undefined: zeros)
};

// out (B, L, d_model) = mixer(h). saved: filled for backward (nullptr for inference). state: when given,
// its conv/SSM states are the initial states and are overwritten with the final ones (chunked processing,
// prefill); the initial states are treated as constants by backward.
void mamba_block_forward(const BlockDims& dims, const BlockTensors& w, const Tensor& h, const Tensor& out,
                         BlockSaved* saved, BlockState* state);
// dh (written) from dout (B, L, d_model); parameter gradients accumulated into g.
void mamba_block_backward(const BlockDims& dims, const BlockTensors& w, const BlockTensors& g,
                          const BlockSaved& saved, const Tensor& dout, const Tensor& dh);

// Preallocated work tensors for step(), so a decoding loop allocates nothing per token.
struct BlockStepBuffers {
  Tensor xz, xc, x_dbl, dt, y, A;
};
BlockStepBuffers make_block_step_buffers(const BlockDims& dims, int64_t batch, DType dtype, Device device);
// One token: h (B, d_model) -> out (B, d_model), advancing `state` in place (constant time and memory).
void mamba_block_step(const BlockDims& dims, const BlockTensors& w, BlockState& state, const Tensor& h,
                      const Tensor& out, BlockStepBuffers& buf);

}  // namespace ms
