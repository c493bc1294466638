// "Did you mean" for unknown names (config keys, CLI commands): the known name nearest to a typo.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace ms {

// Levenshtein distance (insertions, deletions, substitutions, each 1).
size_t edit_distance(std::string_view a, std::string_view b);

// The first of `known` at the smallest edit distance from `unknown`, if that distance is <= max_distance;
// else "".
std::string closest_name(std::string_view unknown, const std::vector<std::string>& known, size_t max_distance);

}  // namespace ms
