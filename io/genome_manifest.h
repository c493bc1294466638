// The manifest written by scripts/prepare-genomes.sh (data/genomes/manifest.tsv): one row per contig,
// tab-separated, with a header: species, strain, path (relative to the manifest), contig, length,
// description. Read back as one entry per genome file, and turned into classification classes.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "io/dna_dataset.h"
#include "io/dna_intervals.h"

namespace ms::dna {

struct ManifestGenome {
  std::string species, strain;
  std::string path;  // resolved against the manifest's folder
  std::vector<ContigSize> contigs;
  int64_t length() const;
};

// Errors name the file and line (missing columns, bad length, a path that does not exist).
std::vector<ManifestGenome> read_genome_manifest(const std::string& manifest_path);

// One class per species (label = species) or per strain of one species. test_strains (held-out files)
// become each class's test_files; with by_strain every class is one file, so use held_out = ranges.
std::vector<ClassSource> species_classes(const std::vector<ManifestGenome>& genomes,
                                         const std::vector<std::string>& test_strains);
std::vector<ClassSource> strain_classes(const std::vector<ManifestGenome>& genomes, const std::string& species);

}  // namespace ms::dna
