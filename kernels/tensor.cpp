#include "kernels/tensor.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <sstream>

#include "kernels/memory.h"

namespace ms {

size_t dtype_size(DType dt) {
  switch (dt) {
    case DType::f32: return 4;
    case DType::f64: return 8;
    case DType::bf16: return 2;
    case DType::i32: return 4;
    case DType::i64: return 8;
    case DType::u8: return 1;
  }
  return 0;
}

const char* dtype_name(DType dt) {
  switch (dt) {
    case DType::f32: return "f32";
    case DType::f64: return "f64";
    case DType::bf16: return "bf16";
    case DType::i32: return "i32";
    case DType::i64: return "i64";
    case DType::u8: return "u8";
  }
  return "?";
}

const char* device_name(Device dev) { return dev == Device::cpu ? "cpu" : "cuda"; }

bool is_floating(DType dt) { return dt == DType::f32 || dt == DType::f64 || dt == DType::bf16; }

bf16::bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if (std::isnan(f)) {
    bits = 0x7FC0;
  } else {
    u += 0x7FFF + ((u >> 16) & 1);  // round to nearest even
    bits = static_cast<uint16_t>(u >> 16);
  }
}

bf16::operator float() const {
  uint32_t u = static_cast<uint32_t>(bits) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

std::string shape_str(const Shape& s) {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < s.size(); ++i) os << (i ? ", " : "") << s[i];
  os << "]";
  return os.str();
}

Storage::Storage(size_t nbytes, Device dev) : bytes(nbytes), device(dev) { data = device_alloc(dev, nbytes); }
Storage::~Storage() { device_free(device, data, bytes); }

Shape contiguous_strides(const Shape& shape) {
  Shape st(shape.size());
  int64_t s = 1;
  for (int i = static_cast<int>(shape.size()) - 1; i >= 0; --i) {
    st[i] = s;
    s *= shape[i];
  }
  return st;
}

static int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  for (int64_t d : shape) MS_CHECK(d >= 0, "negative dimension in shape ", shape_str(shape));
  Tensor t;
  t.shape_ = shape;
  t.strides_ = contiguous_strides(shape);
  t.dtype_ = dtype;
  t.device_ = device;
  t.storage_ = std::make_shared<Storage>(static_cast<size_t>(shape_numel(shape)) * dtype_size(dtype), device);
  return t;
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  t.zero_();
  return t;
}

Tensor Tensor::full(const Shape& shape, double value, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  t.fill_(value);
  return t;
}

static int norm_dim(int dim, int ndim) {
  int d = dim < 0 ? dim + ndim : dim;
  MS_CHECK(d >= 0 && d < ndim, "dimension ", dim, " out of range for a ", ndim, "-d tensor");
  return d;
}

int64_t Tensor::size(int dim) const { return shape_[norm_dim(dim, ndim())]; }
int64_t Tensor::stride(int dim) const { return strides_[norm_dim(dim, ndim())]; }
int64_t Tensor::numel() const { return shape_numel(shape_); }

bool Tensor::is_contiguous() const {
  int64_t s = 1;
  for (int i = ndim() - 1; i >= 0; --i) {
    if (shape_[i] != 1 && strides_[i] != s) return false;
    s *= shape_[i];
  }
  return true;
}

std::string Tensor::describe() const {
  if (!defined()) return "undefined";
  return std::string(dtype_name(dtype_)) + shape_str(shape_) + " " + device_name(device_);
}

void* Tensor::raw() const {
  MS_CHECK(defined(), "access to an undefined tensor");
  return static_cast<char*>(storage_->data) + offset_ * static_cast<int64_t>(dtype_size(dtype_));
}

// Offset (in elements) of the flat, row-major index i, honouring strides.
static int64_t strided_offset(const Shape& shape, const Shape& strides, int64_t i) {
  int64_t off = 0;
  for (int d = static_cast<int>(shape.size()) - 1; d >= 0; --d) {
    off += (i % shape[d]) * strides[d];
    i /= shape[d];
  }
  return off;
}

static double load_as_double(const void* p, DType dt) {
  switch (dt) {
    case DType::f32: return *static_cast<const float*>(p);
    case DType::f64: return *static_cast<const double*>(p);
    case DType::bf16: return static_cast<float>(*static_cast<const bf16*>(p));
    case DType::i32: return *static_cast<const int32_t*>(p);
    case DType::i64: return static_cast<double>(*static_cast<const int64_t*>(p));
    case DType::u8: return *static_cast<const uint8_t*>(p);
  }
  return 0;
}

static void store_from_double(void* p, DType dt, double v) {
  switch (dt) {
    case DType::f32: *static_cast<float*>(p) = static_cast<float>(v); break;
    case DType::f64: *static_cast<double*>(p) = v; break;
    case DType::bf16: *static_cast<bf16*>(p) = bf16(static_cast<float>(v)); break;
    case DType::i32: *static_cast<int32_t*>(p) = static_cast<int32_t>(v); break;
    case DType::i64: *static_cast<int64_t*>(p) = static_cast<int64_t>(v); break;
    case DType::u8: *static_cast<uint8_t*>(p) = static_cast<uint8_t>(v); break;
  }
}

double Tensor::item(int64_t flat_index) const {
  MS_CHECK(device_ == Device::cpu, "item() needs a CPU tensor, got ", describe());
  MS_CHECK(flat_index >= 0 && flat_index < numel(), "item(", flat_index, ") out of range for ", describe());
  const char* base = static_cast<const char*>(raw());
  return load_as_double(base + strided_offset(shape_, strides_, flat_index) * dtype_size(dtype_), dtype_);
}

void Tensor::set_item(int64_t flat_index, double value) const {
  MS_CHECK(device_ == Device::cpu, "set_item() needs a CPU tensor, got ", describe());
  MS_CHECK(flat_index >= 0 && flat_index < numel(), "set_item(", flat_index, ") out of range for ", describe());
  char* base = static_cast<char*>(raw());
  store_from_double(base + strided_offset(shape_, strides_, flat_index) * dtype_size(dtype_), dtype_, value);
}

Tensor Tensor::view(const Shape& shape) const {
  MS_CHECK(is_contiguous(), "view() of a non-contiguous tensor ", describe());
  Shape s = shape;
  int64_t known = 1;
  int infer = -1;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == -1) {
      MS_CHECK(infer < 0, "view(): more than one -1 in ", shape_str(shape));
      infer = static_cast<int>(i);
    } else {
      known *= s[i];
    }
  }
  if (infer >= 0) {
    MS_CHECK(known > 0 && numel() % known == 0, "view(): cannot infer ", shape_str(shape), " from ", describe());
    s[infer] = numel() / known;
  }
  MS_CHECK(shape_numel(s) == numel(), "view(): ", shape_str(s), " does not match ", describe());
  Tensor t = *this;
  t.shape_ = s;
  t.strides_ = contiguous_strides(s);
  return t;
}

Tensor Tensor::slice(int dim, int64_t start, int64_t end) const {
  int d = norm_dim(dim, ndim());
  MS_CHECK(0 <= start && start <= end && end <= shape_[d], "slice(", dim, ", ", start, ", ", end, ") out of range for ",
           describe());
  Tensor t = *this;
  t.offset_ += start * strides_[d];
  t.shape_[d] = end - start;
  return t;
}

Tensor Tensor::select(int dim, int64_t index) const {
  int d = norm_dim(dim, ndim());
  MS_CHECK(0 <= index && index < shape_[d], "select(", dim, ", ", index, ") out of range for ", describe());
  Tensor t = *this;
  t.offset_ += index * strides_[d];
  t.shape_.erase(t.shape_.begin() + d);
  t.strides_.erase(t.strides_.begin() + d);
  return t;
}

Tensor Tensor::transpose(int a, int b) const {
  int da = norm_dim(a, ndim()), db = norm_dim(b, ndim());
  Tensor t = *this;
  std::swap(t.shape_[da], t.shape_[db]);
  std::swap(t.strides_[da], t.strides_[db]);
  return t;
}

Tensor Tensor::unsqueeze(int dim) const {
  int d = dim < 0 ? dim + ndim() + 1 : dim;
  MS_CHECK(d >= 0 && d <= ndim(), "unsqueeze(", dim, ") out of range for ", describe());
  Tensor t = *this;
  int64_t st = d < ndim() ? shape_[d] * strides_[d] : 1;
  t.shape_.insert(t.shape_.begin() + d, 1);
  t.strides_.insert(t.strides_.begin() + d, st);
  return t;
}

Tensor Tensor::unflatten(int dim, const Shape& sizes) const {
  const int d = norm_dim(dim, ndim());
  MS_CHECK(!sizes.empty(), "unflatten(", dim, ", {}) of ", describe());
  Shape s = sizes;
  int64_t known = 1;
  int infer = -1;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == -1) {
      MS_CHECK(infer < 0, "unflatten(): more than one -1 in ", shape_str(sizes));
      infer = static_cast<int>(i);
    } else {
      known *= s[i];
    }
  }
  if (infer >= 0) {
    MS_CHECK(known > 0 && shape_[d] % known == 0, "unflatten(): cannot split ", shape_[d], " into ", shape_str(sizes));
    s[infer] = shape_[d] / known;
  }
  MS_CHECK(shape_numel(s) == shape_[d], "unflatten(): ", shape_str(s), " does not split dimension ", d, " of ",
           describe());
  Tensor t = *this;
  Shape st(s.size());
  int64_t stride = strides_[d];
  for (size_t i = s.size(); i-- > 0;) {
    st[i] = stride;
    stride *= s[i];
  }
  t.shape_.erase(t.shape_.begin() + d);
  t.strides_.erase(t.strides_.begin() + d);
  t.shape_.insert(t.shape_.begin() + d, s.begin(), s.end());
  t.strides_.insert(t.strides_.begin() + d, st.begin(), st.end());
  return t;
}

Tensor Tensor::contiguous() const {
  if (is_contiguous()) return *this;
  Tensor t = empty(shape_, dtype_, device_);
  t.copy_(*this);
  return t;
}

Tensor Tensor::clone() const {
  Tensor t = empty(shape_, dtype_, device_);
  t.copy_(*this);
  return t;
}

Tensor Tensor::to(Device device) const {
  if (device == device_) return *this;
  Tensor src = contiguous();
  Tensor t = empty(shape_, dtype_, device);
  device_memcpy(t.raw(), device, src.raw(), device_, nbytes());
  return t;
}

Tensor Tensor::to(DType dtype) const {
  if (dtype == dtype_) return *this;
  MS_CHECK(device_ == Device::cpu, "dtype conversion of a CUDA tensor: use the cast op, got ", describe());
  Tensor t = empty(shape_, dtype, device_);
  const int64_t n = numel();
  const size_t in_sz = dtype_size(dtype_), out_sz = dtype_size(dtype);
  const char* src = static_cast<const char*>(raw());
  char* dst = static_cast<char*>(t.raw());
  for (int64_t i = 0; i < n; ++i)
    store_from_double(dst + i * out_sz, dtype, load_as_double(src + strided_offset(shape_, strides_, i) * in_sz, dtype_));
  return t;
}

void Tensor::copy_(const Tensor& src) const {
  MS_CHECK(shape_ == src.shape_, "copy_(): shape ", shape_str(src.shape_), " into ", shape_str(shape_));
  MS_CHECK(dtype_ == src.dtype_, "copy_(): dtype ", dtype_name(src.dtype_), " into ", dtype_name(dtype_));
  if (numel() == 0) return;
  if (is_contiguous() && src.is_contiguous()) {
    device_memcpy(raw(), device_, src.raw(), src.device_, nbytes());
    return;
  }
  if (device_ != src.device_) {
    // Cross-device strided copy: stage through a contiguous tensor on the destination device.
    copy_(src.to(device_));
    return;
  }
  if (device_ == Device::cuda) {
    cuda::strided_copy(*this, src);
    return;
  }
  const size_t sz = dtype_size(dtype_);
  const int64_t n = numel();
  char* dst = static_cast<char*>(raw());
  const char* s = static_cast<const char*>(src.raw());
  for (int64_t i = 0; i < n; ++i)
    std::memcpy(dst + strided_offset(shape_, strides_, i) * sz, s + strided_offset(src.shape_, src.strides_, i) * sz, sz);
}

void Tensor::fill_(double value) const {
  if (numel() == 0) return;
  if (device_ == Device::cuda) {
    cuda::fill(*this, value);
    return;
  }
  const size_t sz = dtype_size(dtype_);
  char* base = static_cast<char*>(raw());
  const int64_t n = numel();
  if (is_contiguous()) {
    char one[8];
    store_from_double(one, dtype_, value);
    for (int64_t i = 0; i < n; ++i) std::memcpy(base + i * sz, one, sz);
    return;
  }
  for (int64_t i = 0; i < n; ++i) store_from_double(base + strided_offset(shape_, strides_, i) * sz, dtype_, value);
}

void Tensor::zero_() const {
  if (is_contiguous()) {
    if (numel() > 0) device_memset_zero(raw(), device_, nbytes());
  } else {
    fill_(0.0);
  }
}

void check_defined(const char* op, const char* arg, const Tensor& t) {
  MS_CHECK(t.defined(), op, ": argument '", arg, "' is undefined");
}

void check_shape(const char* op, const char* arg, const Tensor& t, const Shape& expected) {
  check_defined(op, arg, t);
  MS_CHECK(t.shape() == expected, op, ": '", arg, "' has shape ", shape_str(t.shape()), ", expected ",
           shape_str(expected));
}

void check_dtype(const char* op, const char* arg, const Tensor& t, DType expected) {
  check_defined(op, arg, t);
  MS_CHECK(t.dtype() == expected, op, ": '", arg, "' has dtype ", dtype_name(t.dtype()), ", expected ",
           dtype_name(expected));
}

void check_same_device(const char* op, std::initializer_list<const Tensor*> tensors) {
  const Tensor* first = nullptr;
  for (const Tensor* t : tensors) {
    if (!t->defined()) continue;
    if (!first) first = t;
    MS_CHECK(t->device() == first->device(), op, ": tensors on different devices (", first->describe(), " and ",
             t->describe(), ")");
  }
}

void check_inner_contiguous(const char* op, const char* arg, const Tensor& t) {
  check_defined(op, arg, t);
  MS_CHECK(t.ndim() == 0 || t.stride(-1) == 1 || t.size(-1) == 1, op, ": '", arg,
           "' must have a unit stride in its last dimension");
}

}  // namespace ms
