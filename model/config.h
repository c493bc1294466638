// MambaConfig: the hyperparameters of a Mamba language model, with mamba_ssm's defaults and derived sizes.
#pragma once
#include <cstdint>
#include <string>

namespace ms {

// real: S4D-Real A = -exp(A_log), A_n = -(n+1).  complex: S4D-Lin A_n = -1/2 + i*pi*n (A_imag trained too).
enum class SsmKind { real, complex };
const char* ssm_kind_name(SsmKind k);
SsmKind parse_ssm_kind(const std::string& s);  // "real" | "complex"; anything else is an error

struct MambaConfig {
  int64_t d_model = 64;
  int64_t n_layer = 2;
  int64_t vocab_size = 16;               // as given; the embedding has padded_vocab_size() rows
  int64_t pad_vocab_size_multiple = 8;   // mamba_ssm pads the vocabulary to a multiple of this
  int64_t d_state = 16;
  int64_t d_conv = 4;
  int64_t expand = 2;
  int64_t dt_rank = 0;                   // 0 = "auto": ceil(d_model / 16)
  double dt_min = 1e-3, dt_max = 1e-1, dt_init_floor = 1e-4;
  double norm_eps = 1e-5;
  SsmKind ssm = SsmKind::real;
  uint64_t seed = 0;                     // parameter initialization

  int64_t d_inner() const { return expand * d_model; }
  int64_t resolved_dt_rank() const { return dt_rank > 0 ? dt_rank : (d_model + 15) / 16; }
  int64_t padded_vocab_size() const;
  bool is_complex() const { return ssm == SsmKind::complex; }
  // Rows of x_proj's output: dt_rank + 2N (real) or dt_rank + 4N (complex B and C as (re, im) pairs).
  int64_t x_proj_rows() const { return resolved_dt_rank() + (is_complex() ? 4 : 2) * d_state; }
  // Throws a one-line error naming the first out-of-range field.
  void validate() const;
  std::string describe() const;
};

}  // namespace ms
