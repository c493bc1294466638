// A named parameter store: every trainable tensor of a model with its gradient and weight-decay flag, under
// the names mamba_ssm uses (backbone.layers.0.mixer.in_proj.weight, ...), so checkpoints map one to one.
// Layers keep integer ids into the store (not Tensor handles), so moving the store to another device never
// leaves a layer holding a stale tensor.
#pragma once
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "kernels/tensor.h"

namespace ms {

struct Param {
  std::string name;
  Tensor value, grad;        // same shape, dtype and device; grad accumulates (ops add into it)
  bool weight_decay = true;  // AdamW decays only flagged tensors (matrices and embeddings)
};

struct ParamStore {
  std::vector<Param> params;  // in registration order (a stable order for checkpoints and the optimizer)
  // Tied weights: (alias, target). "lm_head.weight" -> "backbone.embedding.weight": one tensor, two names.
  std::vector<std::pair<std::string, std::string>> aliases;
  std::unordered_map<std::string, int> index;

  // Registers a zero-filled parameter (and its zero gradient); a duplicate name is an error.
  int add(const std::string& name, const Shape& shape, DType dtype, Device device, bool weight_decay);
  void add_alias(const std::string& alias, const std::string& target);
  int index_of(const std::string& name) const;  // resolves aliases; -1 when absent
  Param& at(int id) { return params.at(static_cast<size_t>(id)); }
  const Param& at(int id) const { return params.at(static_cast<size_t>(id)); }
  Param& get(const std::string& name);  // error naming the missing parameter
  const Param& get(const std::string& name) const;
  const Tensor& value(int id) const { return at(id).value; }
  const Tensor& grad(int id) const { return at(id).grad; }
  size_t size() const { return params.size(); }
  DType dtype() const;    // of the first parameter (all share one)
  Device device() const;
};

void zero_grad(const ParamStore& store);
// Moves values and gradients to `device` (a no-op for tensors already there).
void to_device(ParamStore& store, Device device);
// Number of scalar parameters; tied tensors count once.
int64_t count_parameters(const ParamStore& store);
// (name, value) for every parameter, plus each alias with its target's tensor when `with_aliases`
// (mamba_ssm's state_dict lists lm_head.weight beside backbone.embedding.weight).
std::vector<std::pair<std::string, Tensor>> named_values(const ParamStore& store, bool with_aliases = false);
// Overwrites a parameter's value from `src` (any device; f32/f64 converted on the host). The shape must
// match, except that a conv1d weight may come in PyTorch's (D, 1, K) layout for our (D, K).
void load_value(ParamStore& store, const std::string& name, const Tensor& src);

}  // namespace ms
