// Sequence-length warmup shared by the training pipelines (DNA pretraining, the synthetic tasks' length
// curriculum, audio pretraining): start_len at step 0, doubled every steps_per_stage steps, capped at
// max_len. start_len == 0 (or >= max_len) means no warmup. A function of the step alone, so a resumed
// run sees the lengths an uninterrupted one would.
#pragma once
#include <cstdint>
#include <string>

namespace ms {

struct SeqLenSchedule {
  int64_t max_len = 1024;
  int64_t start_len = 0;
  int64_t steps_per_stage = 0;
};
int64_t seq_len_at(const SeqLenSchedule& s, int64_t step);

// How a pipeline's config names the three fields, for its error messages; `where` (the config file, or
// empty) starts each message.
struct SeqLenKeys {
  std::string where, max_len, start_len, steps_per_stage;
};
// One-line errors for a length < 1, a negative start, a start longer than the length, and a warmup
// without steps per stage.
void check_schedule(const SeqLenSchedule& s, const SeqLenKeys& keys);

}  // namespace ms
