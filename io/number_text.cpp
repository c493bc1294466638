#include "io/number_text.h"

#include <algorithm>
#include <charconv>

namespace ms {

std::string shortest_text(double x) {
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, x, std::chars_format::general);
  std::string s(buf, res.ptr);
  const size_t e = s.find('e');
  if (e != std::string::npos) {  // "1e-05" -> "1e-5", "1e+20" -> "1e20"
    std::string exp = s.substr(e + 1);
    const bool neg = exp[0] == '-';
    if (exp[0] == '-' || exp[0] == '+') exp.erase(0, 1);
    exp.erase(0, std::min(exp.find_first_not_of('0'), exp.size() - 1));
    s = s.substr(0, e + 1) + (neg ? "-" : "") + exp;
  }
  return s;
}

}  // namespace ms
