#!/usr/bin/env bash
# Prepares the 16 complete bacterial genomes of Debian's `ragout-examples` (E. coli, V. cholerae,
# S. aureus, H. pylori) for mambaseq: recompresses each with bgzip, indexes it (.fai + .gzi) and writes
# a manifest (one row per contig: species, strain, path, contig, length, description).
#
#   scripts/prepare-genomes.sh [--out DIR]     (default: data/genomes in the repository, git-ignored)
#
# Idempotent and fast: a genome is redone only when its output or index is missing or older than the
# package's file. Installs ragout-examples with apt-get when missing (as root, or through sudo).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT="$ROOT/data/genomes"
SRC=/usr/share/doc/ragout/examples
while (($#)); do
  case "$1" in
    --out) OUT="$2"; shift 2 ;;
    --out=*) OUT="${1#--out=}"; shift ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "prepare-genomes: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

need() { command -v "$1" >/dev/null || { echo "prepare-genomes: '$1' not found: run scripts/install-deps.sh" >&2; exit 1; }; }
need bgzip
need samtools

if [[ ! -d "$SRC" ]]; then
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "prepare-genomes: need root (or sudo) to install ragout-examples" >&2; exit 1; }
    SUDO=sudo
  fi
  echo "prepare-genomes: installing ragout-examples (18 MB)"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get install -y -qq --no-install-recommends ragout-examples >/dev/null || {
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends ragout-examples >/dev/null; }
fi
shopt -s nullglob
sources=("$SRC"/*/references/*.fasta.gz)
((${#sources[@]} > 0)) || { echo "prepare-genomes: no genomes under $SRC/*/references" >&2; exit 1; }

mkdir -p "$OUT"
THREADS=$(nproc 2>/dev/null || echo 2)
done_count=0 made=0
for src in "${sources[@]}"; do
  species=${src%/references/*}; species=${species##*/}
  strain=${src##*/}; strain=${strain%.fasta.gz}
  dst="$OUT/$species/$strain.fa.gz"
  if [[ -s "$dst" && "$dst" -nt "$src" && -s "$dst.fai" && -s "$dst.gzi" && ! "$dst.fai" -ot "$dst" ]]; then
    done_count=$((done_count + 1))
    continue
  fi
  mkdir -p "$OUT/$species"
  tmp="$dst.tmp.$$"
  trap 'rm -f "$tmp"' EXIT
  # Level 3: a tenth of the default level's time on DNA for 5% more bytes; decompression speed is the same.
  gzip -dc "$src" | bgzip -l 3 -@ "$THREADS" -c > "$tmp"
  mv -f "$tmp" "$dst"
  rm -f "$dst.fai" "$dst.gzi"
  samtools faidx "$dst"
  made=$((made + 1))
done

# Manifest: rewritten when a genome was (re)made or it is missing or older than an index.
manifest="$OUT/manifest.tsv"
stale=$((made > 0))
[[ -s "$manifest" ]] || stale=1
for src in "${sources[@]}"; do
  s=${src%/references/*}; s=${s##*/}; t=${src##*/}; t=${t%.fasta.gz}
  [[ "$manifest" -nt "$OUT/$s/$t.fa.gz.fai" ]] || stale=1
done
if ((stale)); then
  tmp="$manifest.tmp.$$"
  {
    printf 'species\tstrain\tpath\tcontig\tlength\tdescription\n'
    for src in "${sources[@]}"; do
      species=${src%/references/*}; species=${species##*/}
      strain=${src##*/}; strain=${strain%.fasta.gz}
      rel="$species/$strain.fa.gz"
      # name -> description (the header text after the first space), from the header lines.
      declare -A desc=()
      while IFS= read -r h; do
        h=${h#>}; n=${h%%[[:space:]]*}; d=""
        [[ "$h" == *[[:space:]]* ]] && d=${h#*[[:space:]]}
        desc[$n]=$d
      done < <(gzip -dc "$src" | grep '^>')
      while IFS=$'\t' read -r name len _; do
        printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$species" "$strain" "$rel" "$name" "$len" "${desc[$name]:-}"
      done < "$OUT/$rel.fai"
      unset desc
    done
  } > "$tmp"
  mv -f "$tmp" "$manifest"
fi

genomes=$(tail -n +2 "$manifest" | cut -f3 | sort -u | wc -l)
bases=$(tail -n +2 "$manifest" | awk -F'\t' '{s += $5} END {print s}')
echo "prepare-genomes: $genomes genomes ($made prepared now, $done_count already there), $bases bases, manifest $manifest"
