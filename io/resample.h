// Sample-rate conversion of mono float audio with libsamplerate (Secret Rabbit Code).
// The default converter is its best band-limited sinc (SRC_SINC_BEST_QUALITY: 97 dB SNR, 97% bandwidth).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace ms {

enum class ResampleQuality { best, medium, fastest, zero_order_hold, linear };

// "best" (or "sinc_best"), "medium", "fastest", "zero_order_hold", "linear"; anything else is an error.
ResampleQuality parse_resample_quality(const std::string& name);
const char* resample_quality_name(ResampleQuality q);

// Output length is round(n * to_rate / from_rate); the signal is aligned (no added delay).
std::vector<float> resample(const float* x, int64_t n, int from_rate, int to_rate,
                            ResampleQuality quality = ResampleQuality::best);
inline std::vector<float> resample(const std::vector<float>& x, int from_rate, int to_rate,
                                   ResampleQuality quality = ResampleQuality::best) {
  return resample(x.data(), static_cast<int64_t>(x.size()), from_rate, to_rate, quality);
}

}  // namespace ms
