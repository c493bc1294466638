// Counter-based random numbers: value = hash(seed, stream, counter). The same (seed, stream, counter)
// gives the same number on the host and on the GPU, so sampling and data order are reproducible on both
// and a resumed run continues the exact sequence (the state is just a counter).
#pragma once
#include <cmath>
#include <cstdint>

#if defined(__CUDACC__)
#define MS_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define MS_HOST_DEVICE inline
#endif

namespace ms {

// splitmix64's finalizer: a bijective 64-bit mix with good avalanche.
MS_HOST_DEVICE uint64_t mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

MS_HOST_DEVICE uint64_t random_bits(uint64_t seed, uint64_t stream, uint64_t counter) {
  return mix64(mix64(mix64(seed + 0x9e3779b97f4a7c15ULL) ^ (stream * 0xd1b54a32d192ed03ULL)) + counter);
}

// Uniform in [0, 1) with 53 random bits.
MS_HOST_DEVICE double random_uniform(uint64_t seed, uint64_t stream, uint64_t counter) {
  return static_cast<double>(random_bits(seed, stream, counter) >> 11) * (1.0 / 9007199254740992.0);
}

// A host-side generator over that hash: parameter init, data sampling, dropout-free training.
// Its whole state is (seed, stream, counter), saved in checkpoints.
struct Rng {
  uint64_t seed = 0, stream = 0, counter = 0;
  Rng() = default;
  Rng(uint64_t seed_, uint64_t stream_ = 0) : seed(seed_), stream(stream_) {}
  uint64_t next_u64() { return random_bits(seed, stream, counter++); }
  double uniform() { return random_uniform(seed, stream, counter++); }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // Integer in [0, n) (n > 0); the modulo bias is below 2^-40 for n < 2^24.
  uint64_t below(uint64_t n) { return next_u64() % n; }
  double normal() {  // Box-Muller; uses two counters
    double u1 = uniform(), u2 = uniform();
    if (u1 < 1e-300) u1 = 1e-300;
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  Rng fork(uint64_t sub_stream) const { return Rng(seed, mix64(stream * 31 + sub_stream + 1)); }
};

}  // namespace ms
