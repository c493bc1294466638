// Starts a data-parallel group: `gpus` copies of this process with the same command line, one per GPU
// (CUDA_VISIBLE_DEVICES narrowed to it), told their rank through the environment (kernels/data_parallel.h),
// and waits for them. A worker that fails stops the others, and the error names it. The workers run in
// their own process group; SIGINT / SIGTERM sent to this process (Ctrl-C, `timeout`) are passed on to
// each of them, and on SIGINT they stop together after a checkpoint (the trainer agrees on the step).
#pragma once
#include <string>
#include <vector>

namespace ms {

// This process's command line (argv as /proc/self/cmdline holds it).
std::vector<std::string> own_command_line();

// Runs /proc/self/exe with `command` (argv, argv[0] included) once per GPU and returns when all workers
// succeeded; otherwise an error naming the first that failed.
void run_data_parallel_workers(int gpus, const std::vector<std::string>& command);

// In a worker: end this process (SIGTERM) when its launcher dies, even by SIGKILL, instead of training on
// alone. A no-op outside a group.
void follow_launcher();

}  // namespace ms
