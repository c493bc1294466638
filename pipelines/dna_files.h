// Paths named in DNA configs: checked before any loading, with a hint when they are the prepared genomes
// of scripts/prepare-genomes.sh that have not been prepared yet.
#pragma once
#include <string>

namespace ms {

// `path` as given when it exists; otherwise a one-line error naming the config key, plus the set-up
// command when the path lies under data/genomes.
std::string require_dna_file(const std::string& path, const std::string& key);

}  // namespace ms
