// Tensor: shared storage + shape + strides (in elements) + dtype + device.
// No autograd: layers call ops explicitly in forward and backward. Ops write into tensors the caller
// allocated (see docs/ARCHITECTURE.md, "Op conventions").
#pragma once
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "kernels/check.h"

namespace ms {

enum class DType : uint8_t { f32, f64, bf16, i32, i64, u8 };
enum class Device : uint8_t { cpu, cuda };

size_t dtype_size(DType dt);
const char* dtype_name(DType dt);
const char* device_name(Device dev);
bool is_floating(DType dt);

// Brain float 16 on the host: the top 16 bits of an IEEE float, rounded to nearest even.
struct bf16 {
  uint16_t bits = 0;
  bf16() = default;
  explicit bf16(float f);
  explicit operator float() const;
};

template <class T> struct dtype_of;
template <> struct dtype_of<float> { static constexpr DType value = DType::f32; };
template <> struct dtype_of<double> { static constexpr DType value = DType::f64; };
template <> struct dtype_of<bf16> { static constexpr DType value = DType::bf16; };
template <> struct dtype_of<int32_t> { static constexpr DType value = DType::i32; };
template <> struct dtype_of<int64_t> { static constexpr DType value = DType::i64; };
template <> struct dtype_of<uint8_t> { static constexpr DType value = DType::u8; };

using Shape = std::vector<int64_t>;
std::string shape_str(const Shape& s);

// Raw memory on one device. Freed when the last Tensor viewing it goes away.
struct Storage {
  void* data = nullptr;
  size_t bytes = 0;
  Device device = Device::cpu;
  Storage(size_t bytes, Device device);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
};

class Tensor {
 public:
  Tensor() = default;

  // ---- creation ----
  static Tensor empty(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu);
  static Tensor zeros(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu);
  static Tensor full(const Shape& shape, double value, DType dtype = DType::f32, Device device = Device::cpu);
  template <class T>
  static Tensor from(const std::vector<T>& values, const Shape& shape) {
    Tensor t = empty(shape, dtype_of<T>::value, Device::cpu);
    MS_CHECK(static_cast<int64_t>(values.size()) == t.numel(), "from(): ", values.size(),
             " values for shape ", shape_str(shape));
    std::copy(values.begin(), values.end(), t.data<T>());
    return t;
  }
  static Tensor empty_like(const Tensor& t) { return empty(t.shape(), t.dtype(), t.device()); }
  static Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), t.dtype(), t.device()); }

  // ---- properties ----
  bool defined() const { return storage_ != nullptr; }
  const Shape& shape() const { return shape_; }
  const Shape& strides() const { return strides_; }
  int ndim() const { return static_cast<int>(shape_.size()); }
  int64_t size(int dim) const;    // negative dims count from the end
  int64_t stride(int dim) const;
  int64_t numel() const;
  DType dtype() const { return dtype_; }
  Device device() const { return device_; }
  bool is_cuda() const { return device_ == Device::cuda; }
  bool is_contiguous() const;
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype_); }
  std::string describe() const;  // "f32[2, 3] cpu"

  void* raw() const;
  template <class T>
  T* data() const {
    MS_CHECK(dtype_of<T>::value == dtype_, "tensor holds ", dtype_name(dtype_), ", accessed as ",
             dtype_name(dtype_of<T>::value));
    return static_cast<T*>(raw());
  }
  // Element read/write on CPU tensors (slow; tests and small host-side logic only).
  double item(int64_t flat_index = 0) const;
  void set_item(int64_t flat_index, double value) const;

  // ---- views (share storage) ----
  Tensor view(const Shape& shape) const;  // contiguous tensors only; one dim may be -1
  Tensor slice(int dim, int64_t start, int64_t end) const;
  Tensor select(int dim, int64_t index) const;  // removes dim
  Tensor transpose(int a, int b) const;
  Tensor unsqueeze(int dim) const;
  // Splits dimension `dim` into `sizes` (their product must equal its extent; one may be -1). Works for any
  // stride of that dimension, so a row slice of a larger matrix can be reshaped without a copy.
  Tensor unflatten(int dim, const Shape& sizes) const;

  // ---- copies (methods that write data are const: a Tensor is a handle, like a pointer) ----
  Tensor contiguous() const;
  Tensor clone() const;
  Tensor to(Device device) const;  // returns *this when already there
  Tensor to(DType dtype) const;    // CPU only; returns *this when already that dtype
  void copy_(const Tensor& src) const; // same shape; any devices; same dtype
  void fill_(double value) const;
  void zero_() const;

  const std::shared_ptr<Storage>& storage() const { return storage_; }
  int64_t offset() const { return offset_; }

 private:
  std::shared_ptr<Storage> storage_;
  int64_t offset_ = 0;  // in elements
  Shape shape_, strides_;
  DType dtype_ = DType::f32;
  Device device_ = Device::cpu;
};

Shape contiguous_strides(const Shape& shape);

// Shape/dtype/device checks used by every op; each throws an Error naming the op and the argument.
void check_shape(const char* op, const char* arg, const Tensor& t, const Shape& expected);
void check_dtype(const char* op, const char* arg, const Tensor& t, DType expected);
void check_same_device(const char* op, std::initializer_list<const Tensor*> tensors);
void check_defined(const char* op, const char* arg, const Tensor& t);
// Innermost dimension has stride 1 (rows may be strided).
void check_inner_contiguous(const char* op, const char* arg, const Tensor& t);

}  // namespace ms
