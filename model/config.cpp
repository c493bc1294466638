#include "model/config.h"

#include <sstream>

#include "kernels/check.h"

namespace ms {

const char* ssm_kind_name(SsmKind k) { return k == SsmKind::complex ? "complex" : "real"; }

SsmKind parse_ssm_kind(const std::string& s) {
  if (s == "real") return SsmKind::real;
  if (s == "complex") return SsmKind::complex;
  MS_FAIL("unknown ssm kind '", s, "': expected \"real\" or \"complex\"");
}

int64_t MambaConfig::padded_vocab_size() const {
  const int64_t m = pad_vocab_size_multiple;
  if (m <= 1 || vocab_size % m == 0) return vocab_size;
  return vocab_size + m - vocab_size % m;
}

void MambaConfig::validate() const {
  auto positive = [](const char* key, int64_t v) {
    if (v <= 0) MS_FAIL("model config: ", key, " = ", v, " must be positive");
  };
  positive("d_model", d_model);
  positive("n_layer", n_layer);
  positive("vocab_size", vocab_size);
  positive("pad_vocab_size_multiple", pad_vocab_size_multiple);
  positive("d_state", d_state);
  positive("d_conv", d_conv);
  positive("expand", expand);
  if (dt_rank < 0) MS_FAIL("model config: dt_rank = ", dt_rank, " must be positive (or 0 for auto)");
  if (!(dt_min > 0 && dt_max >= dt_min))
    MS_FAIL("model config: need 0 < dt_min <= dt_max, got dt_min = ", dt_min, ", dt_max = ", dt_max);
  if (!(dt_init_floor > 0)) MS_FAIL("model config: dt_init_floor = ", dt_init_floor, " must be positive");
  if (!(norm_eps > 0)) MS_FAIL("model config: norm_eps = ", norm_eps, " must be positive");
  if (padded_vocab_size() > (int64_t{1} << 30)) MS_FAIL("model config: vocab_size = ", vocab_size, " is too large");
}

std::string MambaConfig::describe() const {
  std::ostringstream os;
  os << "MambaLM(d_model=" << d_model << ", n_layer=" << n_layer << ", vocab=" << vocab_size << "->"
     << padded_vocab_size() << ", d_state=" << d_state << ", d_conv=" << d_conv << ", expand=" << expand
     << ", dt_rank=" << resolved_dt_rank() << ", ssm=" << ssm_kind_name(ssm) << ")";
  return os.str();
}

}  // namespace ms
