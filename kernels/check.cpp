#include "kernels/check.h"

#include <cstring>

namespace ms::detail {

[[noreturn]] void throw_error(const char* file, int line, const std::string& msg) {
  // Keep only the path below the project root so messages stay short.
  const char* short_file = file;
  for (const char* dir : {"/kernels/", "/model/", "/io/", "/pipelines/", "/apps/", "/tests/"}) {
    if (const char* p = std::strstr(file, dir)) { short_file = p + 1; break; }
  }
  throw Error(msg + " (" + short_file + ":" + std::to_string(line) + ")");
}

}  // namespace ms::detail

namespace ms::detail {
[[noreturn]] void no_cuda_backend(const char* op) {
  throw Error(std::string(op) + ": got a CUDA tensor, but this build of mambaseq has no CUDA backend "
              "(rebuild with -DMAMBASEQ_CUDA=ON)");
}
}  // namespace ms::detail
