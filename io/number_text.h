// The shortest decimal text of a finite double that reads back to the same value, %g-style ("0.0006",
// "41000.25", "1e-5", "1e20"): what configs (TOML) and metrics rows (JSON) write.
#pragma once
#include <string>

namespace ms {

std::string shortest_text(double x);

}  // namespace ms
