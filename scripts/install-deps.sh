#!/usr/bin/env bash
# Installs the Debian 12 packages genet needs. Idempotent: packages already present are left
# alone. Not root: prints the command.
#   scripts/install-deps.sh          the build and `make demo`
#   scripts/install-deps.sh --test   also what the tests run (`make test`)
#   scripts/install-deps.sh --torch  also PyTorch/h5py for fixtures and benchmarks
set -euo pipefail

pkgs=(build-essential cmake pkg-config git
      libdnnl-dev libhdf5-dev hdf5-tools
      libopenmpi-dev openmpi-bin
      libpng-dev libjpeg-dev libutf8proc-dev
      # TensorBoard event files: protoc-c makes the C of Event and Summary at build time
      libprotobuf-c-dev protobuf-c-compiler)
case "${1:-}" in
  --test)
    # clang: the fuzzers. protobuf: tests/test_metrics.sh reads the event files back in Python.
    # slurm and munge: tests/test_slurm.sh runs its own one-node Slurm and munged from these;
    # they install without systemd (as root in a container their postinsts start nothing, and
    # slurmd and slurmctld stay off without /etc/slurm/slurm.conf anywhere). chromium and PIL:
    # tests/test_report.sh opens genet report's page and checks its screenshot.
    # python3-torch, h5py: tests/test_weight_scripts.py converts PyTorch state_dicts both ways
    # (libopenblas0-pthread: without it Debian's torch runs the reference BLAS); h5py and numpy
    # also make tests/test_trust_h5.sh's hostile checkpoints from real ones.
    pkgs+=(clang libclang-rt-14-dev protobuf-compiler python3-protobuf
           slurmctld slurmd slurm-client munge chromium python3-pil
           python3-torch python3-h5py python3-numpy libopenblas0-pthread) ;;
  --torch)
    # libopenblas0-pthread: without it Debian's torch falls back to the reference BLAS.
    pkgs+=(python3-torch python3-h5py python3-numpy python3-pil libopenblas0-pthread) ;;
  "") ;;
  *) echo "install-deps: unknown option '$1' (--test or --torch)" >&2; exit 2 ;;
esac

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#pkgs[@]} packages present"
  exit 0
fi
cmd="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" != 0 ]; then
  echo "install-deps: not root; run: sudo apt-get update && sudo $cmd"
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
$cmd >/dev/null
echo "install-deps: done"
