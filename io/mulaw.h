// Mu-law companding of samples in [-1, 1] to integer tokens, as torchaudio's mu_law_encoding and
// SaShiMi do (mu = 2^bits - 1):
//   y = sign(x) * log1p(mu |x|) / log1p(mu)           (companded, in [-1, 1])
//   token = int((y + 1) / 2 * mu + 0.5)               (truncation of a non-negative value: round half up)
// and the inverse (torchaudio's mu_law_decoding):
//   y = token / mu * 2 - 1;  x = sign(y) * (exp(|y| log1p(mu)) - 1) / mu
// Inputs outside [-1, 1] are clipped first. Arithmetic is in double.
#pragma once
#include <cstdint>

namespace ms {

int32_t mulaw_encode(double x, int bits = 8);
double mulaw_decode(int32_t token, int bits = 8);

}  // namespace ms
