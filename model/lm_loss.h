// Next-token loss pieces shared by the MambaLM and the Mamba-UNet: target checks, cross-entropy with its
// stats, and the output head + cross-entropy forward/backward of a training step.
#pragma once
#include <cstdint>
#include <functional>

#include "kernels/loss_stats.h"
#include "kernels/tensor.h"
#include "model/mamba_lm.h"
#include "model/params.h"

namespace ms {

// targets: i32, the ids' shape, contiguous, on the ids' device.
void check_targets(const char* op, const Tensor& ids, const Tensor& targets);

// Mean loss and accuracy over the valid tokens of accumulated stats.
LossResult loss_result(const LossStats& st);
void add_stats(LossStats& acc, const LossStats& s);

// Cross-entropy of logits (R, V) against targets (R): per-row losses, lse and argmax, reduced to stats.
struct CeOut {
  Tensor losses, lse, pred;
  LossStats stats;
};
CeOut cross_entropy_with_stats(const Tensor& logits, const Tensor& targets, int ignore_index);

// Evaluation over chunks of a sequence (both models' *_loss and *_logits). A ChunkedForward runs a model
// over ids chunk by chunk and hands each chunk's logits (B, len, V) to the sink with the chunk's start.
using ChunkSink = std::function<void(int64_t start, const Tensor& logits)>;
using ChunkedForward = std::function<void(const ChunkSink&)>;

// The chunk loop of a ChunkedForward: consecutive chunks of ids (B, L) of chunk_len tokens (<= 0: one chunk),
// each copied contiguous (a slice along L of a row-major (B, L) tensor is contiguous only for B = 1), through
// logits_of (B, len) -> (B, len, V), to fn.
void for_each_chunk(const Tensor& ids, int64_t chunk_len, const std::function<Tensor(const Tensor&)>& logits_of,
                    const ChunkSink& fn);
// Mean loss and accuracy of targets (B, L) i32 under the chunks' logits.
LossResult loss_over_chunks(const ChunkedForward& forward, const Tensor& targets, int ignore_index);
// The chunks' logits gathered into one (B, L, V) tensor of the given dtype and device.
Tensor logits_over_chunks(const ChunkedForward& forward, int64_t B, int64_t L, int64_t V, DType dtype, Device device);

// The head of a training step: logits = hidden (R, dm) x W^T with W = params.value(head) (V, dm), the mean
// cross-entropy against targets (R), and, when some target is valid, its gradient scaled by grad_scale:
// added into params.grad(head) and written to dhidden (R, dm). A non-finite loss is an error.
LossResult head_loss_backward(const ParamStore& params, int head, const Tensor& hidden, const Tensor& targets,
                              int ignore_index, double grad_scale, const Tensor& dhidden);

}  // namespace ms
