#include "io/resample.h"

#include <samplerate.h>

#include <cmath>

#include "kernels/check.h"

namespace ms {

ResampleQuality parse_resample_quality(const std::string& name) {
  if (name == "best" || name == "sinc_best") return ResampleQuality::best;
  if (name == "medium" || name == "sinc_medium") return ResampleQuality::medium;
  if (name == "fastest" || name == "sinc_fastest") return ResampleQuality::fastest;
  if (name == "zero_order_hold") return ResampleQuality::zero_order_hold;
  if (name == "linear") return ResampleQuality::linear;
  MS_FAIL("unknown resample quality '", name, "' (use best, medium, fastest, zero_order_hold or linear)");
}

const char* resample_quality_name(ResampleQuality q) {
  switch (q) {
    case ResampleQuality::best: return "best";
    case ResampleQuality::medium: return "medium";
    case ResampleQuality::fastest: return "fastest";
    case ResampleQuality::zero_order_hold: return "zero_order_hold";
    case ResampleQuality::linear: return "linear";
  }
  return "?";
}

static int src_converter(ResampleQuality q) {
  switch (q) {
    case ResampleQuality::best: return SRC_SINC_BEST_QUALITY;
    case ResampleQuality::medium: return SRC_SINC_MEDIUM_QUALITY;
    case ResampleQuality::fastest: return SRC_SINC_FASTEST;
    case ResampleQuality::zero_order_hold: return SRC_ZERO_ORDER_HOLD;
    case ResampleQuality::linear: return SRC_LINEAR;
  }
  return SRC_SINC_BEST_QUALITY;
}

std::vector<float> resample(const float* x, int64_t n, int from_rate, int to_rate, ResampleQuality quality) {
  MS_CHECK(from_rate > 0 && to_rate > 0, "resample: rates must be positive, got ", from_rate, " -> ", to_rate);
  MS_CHECK(n >= 0, "resample: negative length");
  if (from_rate == to_rate) return std::vector<float>(x, x + n);
  const double ratio = static_cast<double>(to_rate) / from_rate;
  if (!src_is_valid_ratio(ratio))
    MS_FAIL("cannot resample ", from_rate, " Hz to ", to_rate, " Hz: libsamplerate allows ratios 1/256 .. 256");
  const int64_t want = static_cast<int64_t>(std::llround(static_cast<double>(n) * ratio));
  std::vector<float> out(static_cast<size_t>(want));
  if (n == 0 || want == 0) return out;

  int err = 0;
  SRC_STATE* state = src_new(src_converter(quality), 1, &err);
  if (!state) MS_FAIL("libsamplerate: ", src_strerror(err));
  // Feed the input in blocks (src_process takes long counts), then flush with end_of_input.
  int64_t in_pos = 0, out_pos = 0;
  const int64_t block = 1 << 20;
  while (out_pos < want) {
    SRC_DATA d{};
    const int64_t in_left = n - in_pos;
    d.data_in = x + in_pos;
    d.input_frames = static_cast<long>(in_left < block ? in_left : block);
    d.data_out = out.data() + out_pos;
    d.output_frames = static_cast<long>(want - out_pos < block ? want - out_pos : block);
    d.end_of_input = (in_pos + d.input_frames == n) ? 1 : 0;
    d.src_ratio = ratio;
    err = src_process(state, &d);
    if (err) {
      src_delete(state);
      MS_FAIL("libsamplerate: ", src_strerror(err));
    }
    in_pos += d.input_frames_used;
    out_pos += d.output_frames_gen;
    if (d.end_of_input && d.output_frames_gen == 0 && d.input_frames_used == 0) break;  // fully drained
  }
  src_delete(state);
  // libsamplerate may end a frame or two short of round(n * ratio); the tail is past the input's end,
  // so those samples are zero.
  for (int64_t i = out_pos; i < want; ++i) out[static_cast<size_t>(i)] = 0.0f;
  return out;
}

}  // namespace ms
