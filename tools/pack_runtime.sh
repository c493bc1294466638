#!/usr/bin/env bash
# Packs built binaries plus the shared libraries they need that the GPU machine lacks (htslib, sndfile,
# HDF5, OpenBLAS, ...) into one folder to carry there. glibc, the CUDA driver and the CUDA toolkit's
# libraries (cuBLAS, present on the GPU machine under /usr/local/cuda) are left out.
# Usage: tools/pack_runtime.sh OUTDIR BINARY...      then on the GPU machine: OUTDIR/env.sh BINARY ARGS
set -euo pipefail
out=$1; shift
mkdir -p "$out/bin" "$out/lib"
skip='^(linux-vdso|ld-linux|libc\.so|libm\.so|libdl\.so|libpthread\.so|librt\.so|libcuda\.so|libcublas|libcudart|libnvidia)'
for bin in "$@"; do
  cp -u "$bin" "$out/bin/"
  ldd "$bin" | awk '/=> \//{print $1, $3}' | while read -r name path; do
    [[ $name =~ $skip ]] && continue
    cp -uL "$path" "$out/lib/$name"
  done
done
cat > "$out/env.sh" <<'ENV'
#!/usr/bin/env bash
# Runs a packed binary with the carried libraries first on the library path.
here=$(cd "$(dirname "$0")" && pwd)
export LD_LIBRARY_PATH="$here/lib:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
exe=$1; shift
[[ -x $exe ]] || exe="$here/bin/$exe"
exec "$exe" "$@"
ENV
chmod +x "$out/env.sh"
du -sh "$out" | awk '{print "pack_runtime: " $1 " in '"$out"'"}'
