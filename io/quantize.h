// Sample quantization for waveform models: float samples in [-1, 1) <-> integer tokens 0 .. 2^bits - 1.
//   mulaw:  see io/mulaw.h (torchaudio / SaShiMi rounding). The silence token (x = 0) is 2^(bits-1).
//   linear: token = floor((x + 1) / 2 * 2^bits), clipped to [0, 2^bits - 1]; for 16-bit PCM input s and
//           8 bits this is (s + 32768) >> 8, i.e. the top byte. Decoding returns the bin centre,
//           (token + 0.5) / 2^(bits-1) - 1, so the round-trip error is at most half a bin, 2^-bits.
// Unlike SaShiMi's loader there is no per-clip min-max scaling: samples keep their recorded level,
// full scale of a 16-bit file is [-1, 1) (s / 32768).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace ms {

enum class Quantization { mulaw, linear };

const char* quantization_name(Quantization q);            // "mulaw" / "linear"
Quantization parse_quantization(const std::string& name);  // "mulaw", "mu-law", "mu_law", "linear"; else error

// bits must be in [2, 16]; checked with a clear error.
void check_quantization_bits(int bits);
int32_t quantize_sample(double x, Quantization q, int bits = 8);
double dequantize_token(int32_t token, Quantization q, int bits = 8);
int32_t silence_token(Quantization q, int bits = 8);  // quantize_sample(0)

void quantize(const float* x, int64_t n, Quantization q, int bits, int32_t* out);
// Tokens outside [0, 2^bits) are an error naming the position.
void dequantize(const int32_t* tokens, int64_t n, Quantization q, int bits, float* out);
std::vector<int32_t> quantize(const std::vector<float>& x, Quantization q, int bits = 8);
std::vector<float> dequantize(const std::vector<int32_t>& tokens, Quantization q, int bits = 8);

// The token of every 16-bit PCM value s (x = s / 32768), indexed by s + 32768: the data loader
// quantizes its cached 16-bit audio through this table, and `data tokens` does the same.
std::vector<int32_t> pcm16_token_table(Quantization q, int bits = 8);

}  // namespace ms
