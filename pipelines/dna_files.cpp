#include "pipelines/dna_files.h"

#include <filesystem>

#include "kernels/check.h"

namespace ms {

std::string require_dna_file(const std::string& path, const std::string& key) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) return path;
  if (fs::exists(path, ec)) MS_FAIL(key, ": '", path, "' is not a file");
  const bool prepared = path.find("data/genomes") != std::string::npos;
  MS_FAIL(key, ": '", path, "' does not exist",
          prepared ? " (the bacterial genomes are prepared by scripts/prepare-genomes.sh, run from the repository root)"
                   : " (paths are relative to the folder mambaseq runs in)");
}

}  // namespace ms
