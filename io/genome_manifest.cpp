#include "io/genome_manifest.h"

#include <charconv>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "kernels/check.h"

namespace ms::dna {
namespace fs = std::filesystem;

int64_t ManifestGenome::length() const {
  int64_t n = 0;
  for (const auto& c : contigs) n += c.length;
  return n;
}

std::vector<ManifestGenome> read_genome_manifest(const std::string& manifest_path) {
  std::ifstream in(manifest_path);
  if (!in) MS_FAIL("cannot read genome manifest '", manifest_path, "' (make it with scripts/prepare-genomes.sh)");
  const fs::path dir = fs::path(manifest_path).parent_path();
  std::vector<ManifestGenome> out;
  std::map<std::string, size_t> by_path;
  std::string line;
  for (int64_t lineno = 1; std::getline(in, line); ++lineno) {
    if (line.empty() || lineno == 1) continue;  // header
    std::vector<std::string> f;
    size_t a = 0;
    for (size_t t; (t = line.find('\t', a)) != std::string::npos; a = t + 1) f.push_back(line.substr(a, t - a));
    f.push_back(line.substr(a));
    int64_t len = 0;
    auto [p, ec] = std::from_chars(f.size() > 4 ? f[4].data() : nullptr, f.size() > 4 ? f[4].data() + f[4].size() : nullptr, len);
    if (f.size() < 5 || ec != std::errc() || p != f[4].data() + f[4].size() || len <= 0)
      MS_FAIL("genome manifest '", manifest_path, "' line ", lineno,
              ": expected species, strain, path, contig, length (a positive integer), description");
    std::string path = fs::path(f[2]).is_absolute() ? f[2] : (dir / f[2]).string();
    auto [it, fresh] = by_path.emplace(path, out.size());
    if (fresh) {
      if (!fs::exists(path))
        MS_FAIL("genome manifest '", manifest_path, "' line ", lineno, ": '", path,
                "' does not exist (re-run scripts/prepare-genomes.sh)");
      out.push_back({f[0], f[1], path, {}});
    }
    out[it->second].contigs.push_back({f[3], len});
  }
  if (out.empty()) MS_FAIL("genome manifest '", manifest_path, "' lists no genomes");
  return out;
}

std::vector<ClassSource> species_classes(const std::vector<ManifestGenome>& genomes,
                                         const std::vector<std::string>& test_strains) {
  std::set<std::string> test(test_strains.begin(), test_strains.end()), used;
  std::map<std::string, ClassSource> by_species;
  for (const auto& g : genomes) {
    ClassSource& c = by_species[g.species];
    c.name = g.species;
    if (test.count(g.strain)) {
      c.test_files.push_back(g.path);
      used.insert(g.strain);
    } else {
      c.files.push_back(g.path);
    }
  }
  for (const auto& s : test_strains)
    if (!used.count(s)) MS_FAIL("test strain '", s, "' is not in the genome manifest");
  std::vector<ClassSource> out;
  for (auto& [name, c] : by_species) out.push_back(std::move(c));
  return out;
}

std::vector<ClassSource> strain_classes(const std::vector<ManifestGenome>& genomes, const std::string& species) {
  std::vector<ClassSource> out;
  std::string known;
  for (const auto& g : genomes) {
    if (known.find(g.species) == std::string::npos) known += (known.empty() ? "" : ", ") + g.species;
    if (g.species == species) out.push_back({g.strain, {g.path}, {}});
  }
  if (out.empty()) MS_FAIL("species '", species, "' is not in the genome manifest (it has: ", known, ")");
  return out;
}

}  // namespace ms::dna
