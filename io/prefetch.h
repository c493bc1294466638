// Background prefetching of batches: worker threads compute make(step) for the next steps ahead of the
// consumer, into a bounded window of `capacity` steps. make must be a pure function of the step (as the
// DNA samplers are), so the sequence next() returns is identical whatever the threads' timing, and with
// 0 threads (computed inline). A producer's exception is rethrown by next() for that step.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "kernels/check.h"
#include "kernels/tensor.h"

namespace ms {

// Hands out CPU tensors for batches and takes them back once nobody else holds them (the consumer
// dropped the batch), so a steady loop stops allocating: every fresh 4 MB buffer costs ~1000 page faults,
// which made prefetched 2^20-token windows 100x slower than reused ones. Thread-safe.
class TensorPool {
 public:
  explicit TensorPool(size_t max_buffers = 16) : max_(max_buffers) {}
  Tensor get(const Shape& shape, DType dtype) {
    std::lock_guard<std::mutex> lk(mu_);
    for (const Tensor& t : pool_)  // only the pool holds it: no one can be reading or writing it
      if (t.storage().use_count() == 1 && t.shape() == shape && t.dtype() == dtype) return t;
    Tensor t = Tensor::empty(shape, dtype);
    if (pool_.size() >= max_) {  // make room by dropping an idle buffer of another shape, if any
      for (size_t i = 0; i < pool_.size(); ++i)
        if (pool_[i].storage().use_count() == 1) {
          pool_.erase(pool_.begin() + static_cast<std::ptrdiff_t>(i));
          break;
        }
    }
    if (pool_.size() < max_) pool_.push_back(t);
    return t;
  }

 private:
  std::mutex mu_;
  std::vector<Tensor> pool_;
  size_t max_;
};

template <class T>
class Prefetcher {
 public:
  using Make = std::function<T(uint64_t step)>;

  Prefetcher(Make make, uint64_t first_step, int threads = 2, int capacity = 4)
      : make_(std::move(make)), next_claim_(first_step), next_out_(first_step), capacity_(capacity) {
    MS_CHECK(threads >= 0 && capacity >= 1, "Prefetcher: threads ", threads, " >= 0 and capacity ", capacity, " >= 1");
    for (int i = 0; i < threads; ++i) workers_.emplace_back([this] { work(); });
  }
  ~Prefetcher() {
    {
      std::lock_guard<std::mutex> lk(mu_);
      stop_ = true;
    }
    room_.notify_all();
    for (auto& t : workers_) t.join();
  }
  Prefetcher(const Prefetcher&) = delete;
  Prefetcher& operator=(const Prefetcher&) = delete;

  // The item of the next step (first_step, first_step + 1, ...), waiting for it if needed.
  T next() {
    if (workers_.empty()) return make_(next_out_++);
    std::unique_lock<std::mutex> lk(mu_);
    ready_cv_.wait(lk, [&] { return done_.count(next_out_) > 0; });
    auto node = done_.extract(next_out_);
    ++next_out_;
    lk.unlock();
    room_.notify_all();
    if (node.mapped().error) std::rethrow_exception(node.mapped().error);
    return std::move(node.mapped().item);
  }
  uint64_t next_step() const { return next_out_; }
  // Items finished and waiting (for tests and "is the loader keeping up" reports).
  size_t ready() const {
    std::lock_guard<std::mutex> lk(mu_);
    return done_.size();
  }

 private:
  struct Slot {
    T item{};
    std::exception_ptr error;
  };
  void work() {
    std::unique_lock<std::mutex> lk(mu_);
    for (;;) {
      room_.wait(lk, [&] { return stop_ || next_claim_ < next_out_ + static_cast<uint64_t>(capacity_); });
      if (stop_) return;
      const uint64_t step = next_claim_++;
      lk.unlock();
      Slot slot;
      try {
        slot.item = make_(step);
      } catch (...) {
        slot.error = std::current_exception();
      }
      lk.lock();
      done_.emplace(step, std::move(slot));
      ready_cv_.notify_all();
    }
  }

  Make make_;
  uint64_t next_claim_, next_out_;
  int capacity_;
  mutable std::mutex mu_;
  std::condition_variable room_, ready_cv_;
  std::map<uint64_t, Slot> done_;
  bool stop_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace ms
