#include "io/seq_len_schedule.h"

#include <algorithm>

#include "kernels/check.h"

namespace ms {

void check_schedule(const SeqLenSchedule& s, const SeqLenKeys& k) {
  const std::string at = k.where.empty() ? "" : k.where + ": ";
  if (s.max_len < 1) MS_FAIL(at, k.max_len, " = ", s.max_len, " must be at least 1");
  if (s.start_len < 0) MS_FAIL(at, k.start_len, " = ", s.start_len, " must be >= 0 (0: no warmup)");
  if (s.start_len > s.max_len)
    MS_FAIL(at, k.start_len, " = ", s.start_len, " is longer than ", k.max_len, " = ", s.max_len,
            " (the warmup doubles the length from ", k.start_len, " up to ", k.max_len, ")");
  if (s.start_len > 0 && s.start_len < s.max_len && s.steps_per_stage < 1)
    MS_FAIL(at, k.start_len, " = ", s.start_len, " needs ", k.steps_per_stage, " >= 1 (steps per length), got ",
            s.steps_per_stage);
}

int64_t seq_len_at(const SeqLenSchedule& s, int64_t step) {
  if (s.start_len <= 0 || s.start_len >= s.max_len || s.steps_per_stage <= 0) return s.max_len;
  int64_t len = s.start_len;
  for (int64_t stage = std::max<int64_t>(step, 0) / s.steps_per_stage; stage > 0 && len < s.max_len; --stage) len *= 2;
  return std::min(len, s.max_len);
}

}  // namespace ms
