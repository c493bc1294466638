#include "model/params.h"

#include "kernels/check.h"

namespace ms {

int ParamStore::add(const std::string& name, const Shape& shape, DType dtype, Device device, bool weight_decay) {
  MS_CHECK(index_of(name) < 0, "parameter '", name, "' registered twice");
  MS_CHECK(is_floating(dtype), "parameter '", name, "' must have a floating dtype, got ", dtype_name(dtype));
  Param p;
  p.name = name;
  p.value = Tensor::zeros(shape, dtype, device);
  p.grad = Tensor::zeros(shape, dtype, device);
  p.weight_decay = weight_decay;
  params.push_back(std::move(p));
  const int id = static_cast<int>(params.size()) - 1;
  index[name] = id;
  return id;
}

void ParamStore::add_alias(const std::string& alias, const std::string& target) {
  MS_CHECK(index_of(alias) < 0, "alias '", alias, "' clashes with an existing parameter");
  const int id = index_of(target);
  MS_CHECK(id >= 0, "alias '", alias, "' names a missing parameter '", target, "'");
  aliases.emplace_back(alias, target);
  index[alias] = id;
}

int ParamStore::index_of(const std::string& name) const {
  auto it = index.find(name);
  return it == index.end() ? -1 : it->second;
}

Param& ParamStore::get(const std::string& name) {
  const int id = index_of(name);
  if (id < 0) MS_FAIL("model has no parameter named '", name, "'");
  return at(id);
}

const Param& ParamStore::get(const std::string& name) const {
  const int id = index_of(name);
  if (id < 0) MS_FAIL("model has no parameter named '", name, "'");
  return at(id);
}

DType ParamStore::dtype() const {
  MS_CHECK(!params.empty(), "empty parameter store");
  return params.front().value.dtype();
}

Device ParamStore::device() const {
  MS_CHECK(!params.empty(), "empty parameter store");
  return params.front().value.device();
}

void zero_grad(const ParamStore& store) {
  for (const Param& p : store.params) p.grad.zero_();
}

void to_device(ParamStore& store, Device device) {
  for (Param& p : store.params) {
    p.value = p.value.to(device);
    p.grad = p.grad.to(device);
  }
}

int64_t count_parameters(const ParamStore& store) {
  int64_t n = 0;
  for (const Param& p : store.params) n += p.value.numel();
  return n;
}

std::vector<std::pair<std::string, Tensor>> named_values(const ParamStore& store, bool with_aliases) {
  std::vector<std::pair<std::string, Tensor>> out;
  for (const Param& p : store.params) out.emplace_back(p.name, p.value);
  if (with_aliases)
    for (const auto& [alias, target] : store.aliases) out.emplace_back(alias, store.get(target).value);
  return out;
}

void load_value(ParamStore& store, const std::string& name, const Tensor& src) {
  Param& p = store.get(name);
  Tensor s = src.to(Device::cpu);
  const Shape& want = p.value.shape();
  // PyTorch's depthwise Conv1d weight is (D, 1, K); ours drops the singleton in-channel dimension.
  if (s.ndim() == 3 && want.size() == 2 && s.size(1) == 1 && s.size(0) == want[0] && s.size(2) == want[1])
    s = s.contiguous().view(want);
  if (s.shape() != want)
    MS_FAIL("parameter '", name, "' has shape ", shape_str(want), ", the source has ", shape_str(s.shape()));
  if (!is_floating(s.dtype())) MS_FAIL("parameter '", name, "': source dtype ", dtype_name(s.dtype()), " is not float");
  p.value.copy_(s.to(p.value.dtype()).to(p.value.device()));
}

}  // namespace ms
