#!/usr/bin/env bash
# gpu-pack.sh: builds genet with CUDA here and packs what scripts/gpu-check.sh needs on the GPU
# machine into one folder (default build-gpu/, ignored by git), to be carried there:
#   bin/         genet, h5cmp and the test binaries gpu-check runs (stripped)
#   lib.tar.xz   lib/: the shared libraries those binaries load that a bare CUDA image may lack:
#                HDF5, oneDNN, libgomp, libpng, libjpeg, utf8proc, protobuf-c, Open MPI's libmpi and what
#                each of them loads (Debian's, as linked here; stripped). Compressed because
#                oneDNN alone is 38 MiB: unpacked, lib/ is about 63 MiB, over what a call carries;
#                gpu-check.sh unpacks it in its scratch folder
#   MANIFEST     the commit, where it was built, every library packed and its Debian package,
#                and the ones left out on purpose
# Left out on purpose, to come from the GPU machine: the C runtime (glibc, libstdc++, libgcc_s)
# and the CUDA libraries (libcudart, libcublas, libcublasLt, libcudnn*, libnccl and the driver's
# libcuda): gpu-check.sh finds those in PyTorch's nvidia-* wheels there (or the machine's own
# paths). Open MPI's plugins and mpirun are not packed: genet runs single-process when no
# launcher is detected, and libmpi loads its plugins only in MPI_Init.
# The working tree that travels with the folder counts against the 64 MiB a device call
# carries, so the pack must stay under PACK_MAX_MIB (56 by default); the size is printed.
# Usage: scripts/gpu-pack.sh [PACK_DIR]        (from anywhere; builds in build/)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
pack=${1:-build-gpu}
max_mib=${PACK_MAX_MIB:-56}

die() { echo "gpu-pack: $*" >&2; exit 1; }

mkdir -p build
echo "== building genet with CUDA in build/"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DGENET_CUDA=ON > build/.gpu-pack-cmake.log 2>&1 ||
  { cat build/.gpu-pack-cmake.log; die "cmake failed"; }
grep -q 'genet: CUDA backend ON' build/.gpu-pack-cmake.log ||
  die "CUDA backend is OFF in build/ (nvcc, cuDNN or NCCL not found: see build/.gpu-pack-cmake.log)"
cmake --build build -j "$(nproc)" > build/.gpu-pack-build.log 2>&1 ||
  { tail -40 build/.gpu-pack-build.log; die "build failed"; }

bins=(build/genet build/tests/h5cmp build/tests/test_ddp build/tests/test_ddp_schedule build/tests/test_comm)
# The GPU tests of this source tree (a binary left in build/ by a removed test is not one).
for src in tests/test_gpu_*.c; do
  [ -f "$src" ] && bins+=("build/tests/$(basename "$src" .c)")
done
for b in "${bins[@]}"; do [ -x "$b" ] || die "missing $b after the build"; done

rm -rf "$pack"
mkdir -p "$pack/bin" "$pack/lib"
for b in "${bins[@]}"; do
  cp "$b" "$pack/bin/"
  strip --strip-unneeded "$pack/bin/$(basename "$b")"
done

# The libraries the GPU machine provides (see above): never packed.
system_re='^(linux-vdso|ld-linux|libc\.so|libm\.so|libdl\.so|libpthread\.so|librt\.so|libresolv\.so|libutil\.so|libstdc\+\+\.so|libgcc_s\.so)'
cuda_re='^(libcuda\.so|libcudart|libcublas|libcublasLt|libcudnn|libnccl|libnvrtc|libnvJitLink|libcufft|libcurand|libcusolver|libcusparse)'

declare -A packed=() left=()
while read -r name path; do
  [ -n "$name" ] || continue
  if [[ $name =~ $system_re ]]; then left[$name]="C runtime: the GPU machine's own"; continue; fi
  if [[ $name =~ $cuda_re ]]; then left[$name]="CUDA: PyTorch's nvidia wheels or the machine"; continue; fi
  [ -n "$path" ] && [ -f "$path" ] || die "ldd cannot resolve $name here: fix the build machine first"
  packed[$name]=$path
done < <(for b in "${bins[@]}"; do ldd "$b"; done |
         awk '$2 == "=>" { print $1, ($3 == "not" ? "" : $3) } $2 != "=>" && $1 ~ /^\// { n = $1; sub(/.*\//, "", n); print n, $1 }' |
         sort -u)

for name in "${!packed[@]}"; do
  cp -L "${packed[$name]}" "$pack/lib/$name"
  chmod u+w "$pack/lib/$name"
  strip --strip-unneeded "$pack/lib/$name" 2>/dev/null || true
done
lib_kib=$(du -sk "$pack/lib" | cut -f1)
echo "== compressing lib/ ($((lib_kib / 1024)) MiB) into $pack/lib.tar.xz"
tar -C "$pack" -cf - lib | xz -6 -T0 > "$pack/lib.tar.xz"
rm -rf "${pack:?}/lib"

{
  echo "# genet GPU pack, made by scripts/gpu-pack.sh"
  echo "commit $(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')"
  echo "built_in $root"
  echo "fixtures $root/tests/fixtures"
  echo "made $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(. /etc/os-release && echo "$PRETTY_NAME"), $(ldd --version | head -1)"
  echo "lib_unpacked_kib $lib_kib"
  echo "cuda_built $("$root/build/genet" version | grep -o 'CUDA runtime.*' || echo '?')"
  echo "# packed: soname, from, Debian package"
  for name in $(printf '%s\n' "${!packed[@]}" | sort); do
    pkg=$(dpkg -S "$(readlink -f "${packed[$name]}")" 2>/dev/null | head -1 | cut -d: -f1 || true)
    echo "lib $name ${packed[$name]} ${pkg:-?}"
  done
  echo "# left out: the GPU machine provides them"
  for name in $(printf '%s\n' "${!left[@]}" | sort); do echo "expect $name (${left[$name]})"; done
  echo "# binaries"
  for b in "${bins[@]}"; do echo "bin $(basename "$b")"; done
} > "$pack/MANIFEST"

kib=$(du -sk "$pack" | cut -f1)
echo "== $pack: ${#bins[@]} binaries, ${#packed[@]} libraries packed, ${#left[@]} left to the GPU machine"
for p in "$pack" "$pack/bin" "$pack/lib.tar.xz"; do du -sh "$p"; done
if [ "$kib" -gt $((max_mib * 1024)) ]; then
  die "$pack is $((kib / 1024)) MiB, over PACK_MAX_MIB=$max_mib (a device call carries 64 MiB with the working tree)"
fi
echo "== carry it (docs/GPU.md), back to back:"
echo "   run(command=\"bash scripts/gpu-check.sh --quick\", carry=[\"$pack\"], timeout_s=180)"
echo "   run(command=\"bash scripts/gpu-check.sh --full\", carry=[\"$pack\"], timeout_s=330)"
