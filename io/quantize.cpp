#include "io/quantize.h"

#include <cmath>

#include "io/mulaw.h"
#include "kernels/check.h"

namespace ms {

const char* quantization_name(Quantization q) { return q == Quantization::mulaw ? "mulaw" : "linear"; }

Quantization parse_quantization(const std::string& name) {
  if (name == "mulaw" || name == "mu-law" || name == "mu_law") return Quantization::mulaw;
  if (name == "linear") return Quantization::linear;
  MS_FAIL("unknown quantization '", name, "' (use mulaw or linear)");
}

void check_quantization_bits(int bits) {
  if (bits < 2 || bits > 16) MS_FAIL("quantization bits = ", bits, " is out of range (2..16; 8 is the usual choice)");
}

static int32_t linear_encode(double x, int bits) {
  const double levels = static_cast<double>(1 << bits);
  if (!(x >= -1.0)) x = -1.0;
  const double t = std::floor((x + 1.0) * 0.5 * levels);
  return static_cast<int32_t>(t > levels - 1 ? levels - 1 : t);
}

static double linear_decode(int32_t token, int bits) {
  return (static_cast<double>(token) + 0.5) / static_cast<double>(1 << (bits - 1)) - 1.0;
}

int32_t quantize_sample(double x, Quantization q, int bits) {
  return q == Quantization::mulaw ? mulaw_encode(x, bits) : linear_encode(x, bits);
}

double dequantize_token(int32_t token, Quantization q, int bits) {
  return q == Quantization::mulaw ? mulaw_decode(token, bits) : linear_decode(token, bits);
}

int32_t silence_token(Quantization q, int bits) { return quantize_sample(0.0, q, bits); }

void quantize(const float* x, int64_t n, Quantization q, int bits, int32_t* out) {
  check_quantization_bits(bits);
  for (int64_t i = 0; i < n; ++i) out[i] = quantize_sample(x[i], q, bits);
}

void dequantize(const int32_t* tokens, int64_t n, Quantization q, int bits, float* out) {
  check_quantization_bits(bits);
  const int32_t levels = 1 << bits;
  for (int64_t i = 0; i < n; ++i) {
    if (tokens[i] < 0 || tokens[i] >= levels)
      MS_FAIL("token ", tokens[i], " at position ", i, " is outside 0..", levels - 1, " (", bits, "-bit ",
              quantization_name(q), " tokens)");
    out[i] = static_cast<float>(dequantize_token(tokens[i], q, bits));
  }
}

std::vector<int32_t> quantize(const std::vector<float>& x, Quantization q, int bits) {
  std::vector<int32_t> out(x.size());
  quantize(x.data(), static_cast<int64_t>(x.size()), q, bits, out.data());
  return out;
}

std::vector<float> dequantize(const std::vector<int32_t>& tokens, Quantization q, int bits) {
  std::vector<float> out(tokens.size());
  dequantize(tokens.data(), static_cast<int64_t>(tokens.size()), q, bits, out.data());
  return out;
}

std::vector<int32_t> pcm16_token_table(Quantization q, int bits) {
  check_quantization_bits(bits);
  std::vector<int32_t> table(65536);
  for (int s = -32768; s < 32768; ++s) table[s + 32768] = quantize_sample(s / 32768.0, q, bits);
  return table;
}

}  // namespace ms
