// Error type and checking macros shared by every layer of mambaseq.
// Errors carry a one-line, human-readable reason; the CLI prints it and exits non-zero.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace ms {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

namespace detail {
template <class... Args>
std::string concat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}
[[noreturn]] void throw_error(const char* file, int line, const std::string& msg);
}  // namespace detail

}  // namespace ms

// Internal invariant or argument check: the message names the file and line of the check.
#define MS_CHECK(cond, ...)                                                               \
  do {                                                                                    \
    if (!(cond)) ::ms::detail::throw_error(__FILE__, __LINE__, ::ms::detail::concat(__VA_ARGS__)); \
  } while (0)

// User-facing error (bad file, bad config): no source location, the message says everything.
#define MS_FAIL(...) throw ::ms::Error(::ms::detail::concat(__VA_ARGS__))
