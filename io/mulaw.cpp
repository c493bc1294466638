#include "io/mulaw.h"

#include <cmath>

namespace ms {

int32_t mulaw_encode(double x, int bits) {
  const double mu = static_cast<double>((1 << bits) - 1);
  if (!(x >= -1.0)) x = -1.0;  // also maps NaN to -1 rather than to an out-of-range token
  if (x > 1.0) x = 1.0;
  const double sign = x < 0 ? -1.0 : (x > 0 ? 1.0 : 0.0);
  const double y = sign * (std::log1p(mu * std::fabs(x)) / std::log1p(mu));
  return static_cast<int32_t>((y + 1.0) / 2.0 * mu + 0.5);
}

double mulaw_decode(int32_t token, int bits) {
  const double mu = static_cast<double>((1 << bits) - 1);
  const double y = static_cast<double>(token) / mu * 2.0 - 1.0;
  const double sign = y < 0 ? -1.0 : (y > 0 ? 1.0 : 0.0);
  return sign * (std::exp(std::fabs(y) * std::log1p(mu)) - 1.0) / mu;
}

}  // namespace ms
