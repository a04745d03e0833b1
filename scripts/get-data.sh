#!/usr/bin/env bash
# Downloads a dataset or weights file, verifies its checksum, unpacks it and converts it to the
# HDF5 file genet reads:
#   scripts/get-data.sh cifar10   [DEST]   -> DEST/cifar10.h5    (genet prepare cifar10)
#   scripts/get-data.sh wikitext2 [DEST]   -> DEST/wikitext2.h5  (genet prepare text)
#   scripts/get-data.sh vgg19     [DEST]   -> DEST/vgg19.h5      (scripts/vgg19_to_h5.py, needs torch)
#   scripts/get-data.sh vgg16     [DEST]   -> DEST/vgg16.h5      (scripts/vgg16_to_h5.py, needs torch)
# DEST defaults to data/. Downloads go to FILE.part (resumed when rerun: curl -C - / wget -c)
# and are renamed to FILE only after the checksum matched; a file already present with the
# right checksum is not fetched again.
#
# Environment:
#   GENET_DATA_MIRROR  base URL tried instead of the official ones: MIRROR/<file name>
#                      (e.g. file:///srv/mirror or https://host/path; for offline sites/tests)
#   GENET_BIN          the genet binary (default: build/genet of this checkout)
#   GENET_PYTHON       Python with torch + h5py for vgg19 and vgg16 (default /usr/bin/python3, else python3)
#
# Sources and checksums (2026-11):
#   CIFAR-10 binary  https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz
#                    md5 c32a1d4ab5d03f1284b67883e8d87530 (published on https://www.cs.toronto.edu/~kriz/cifar.html)
#   WikiText-2 v1    https://wikitext.smerity.com/wikitext-2-v1.zip (the dataset author's mirror;
#                    the original https://s3.amazonaws.com/research.metamind.io/wikitext/ bucket
#                    answers 403 since 2024 and is kept as a fallback)
#                    md5 542ccefacc6c27f945fb54453812b3cd (torchtext's WikiText2 MD5 for the S3 file)
#   VGG19 ImageNet   https://download.pytorch.org/models/vgg19-dcbb9e9d.pth (torchvision)
#                    sha256 starts with dcbb9e9d (torchvision names files <name>-<sha256 prefix>.pth
#                    and torch.hub checks that prefix)
#   VGG16 ImageNet   https://download.pytorch.org/models/vgg16-397923af.pth (torchvision; the
#                    loss network of pytorch/examples fast_neural_style), sha256 prefix 397923af
set -euo pipefail

die() { echo "get-data: $*" >&2; exit 1; }

usage() {
  echo "usage: scripts/get-data.sh cifar10|wikitext2|vgg19|vgg16 [DEST]   (DEST default: data/)" >&2
  exit 2
}

root=$(cd "$(dirname "$0")/.." && pwd)
if [ $# -lt 1 ] || [ $# -gt 2 ]; then usage; fi
what=$1
dest=${2:-data}
case $what in
  cifar10)
    file=cifar-10-binary.tar.gz
    urls=(https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz)
    algo=md5 sum=c32a1d4ab5d03f1284b67883e8d87530 ;;
  wikitext2)
    file=wikitext-2-v1.zip
    urls=(https://wikitext.smerity.com/wikitext-2-v1.zip
          https://s3.amazonaws.com/research.metamind.io/wikitext/wikitext-2-v1.zip)
    algo=md5 sum=542ccefacc6c27f945fb54453812b3cd ;;
  vgg19)
    file=vgg19-dcbb9e9d.pth
    urls=(https://download.pytorch.org/models/vgg19-dcbb9e9d.pth)
    algo=sha256 sum=dcbb9e9d ;;  # a prefix: see above
  vgg16)
    file=vgg16-397923af.pth
    urls=(https://download.pytorch.org/models/vgg16-397923af.pth)
    algo=sha256 sum=397923af ;;  # a prefix, as vgg19's
  -h|--help) usage ;;
  *) echo "get-data: unknown dataset '$what'" >&2; usage ;;
esac
if [ -n "${GENET_DATA_MIRROR:-}" ]; then
  urls=("${GENET_DATA_MIRROR%/}/$file")
fi

mkdir -p "$dest" || die "$dest: cannot create directory"
dest=$(cd "$dest" && pwd)

# Prints the checksum of $1 with $algo.
digest() { "${algo}sum" "$1" | cut -d' ' -f1; }
# True when $1's checksum is $sum (or starts with it: the vgg19 prefix).
sum_ok() { local d; d=$(digest "$1"); [ "${d#"$sum"}" != "$d" ]; }

# One line naming the likely cause of a curl/wget failure.
why() {
  case $1:$2 in
    curl:6|curl:7|curl:28|curl:35|wget:4) echo "no network (cannot reach the host)" ;;
    curl:22|wget:8) echo "the server refused the file (HTTP error; the URL may have moved)" ;;
    curl:37) echo "cannot read the file: URL" ;;
    curl:23|wget:3) echo "cannot write $part (disk full or not writable?)" ;;
    *) echo "$1 exit status $2" ;;
  esac
}

fetch() {  # $1 URL -> $part (resumed when present)
  local rc=0
  # A progress bar on a terminal; silent otherwise (our one-line errors say what failed).
  local show=-s
  [ -t 2 ] && show=-#
  if command -v curl >/dev/null; then
    curl -fL $show --retry 3 --connect-timeout 20 -C - -o "$part" "$1" || rc=$?
    # 33: the server cannot resume; start over once.
    if [ $rc = 33 ]; then
      rm -f "$part"; rc=0
      curl -fL $show --retry 3 --connect-timeout 20 -o "$part" "$1" || rc=$?
    fi
    [ $rc = 0 ] || { why curl $rc; return 1; }
  elif command -v wget >/dev/null; then
    wget -q -c --tries=3 --timeout=20 -O "$part" "$1" || rc=$?
    [ $rc = 0 ] || { why wget $rc; return 1; }
  else
    echo "neither curl nor wget is installed"; return 1
  fi
}

out=$dest/$file
part=$out.part
if [ -f "$out" ] && sum_ok "$out"; then
  echo "get-data: $out present, $algo checksum ok"
else
  [ -f "$out" ] && { echo "get-data: $out has the wrong checksum; downloading it again" >&2; rm -f "$out"; }
  ok=0 errs=()
  for url in "${urls[@]}"; do
    echo "get-data: downloading $url"
    resumed=0; [ -s "$part" ] && resumed=1
    if msg=$(fetch "$url"); then
      if sum_ok "$part"; then ok=1; break; fi
      if [ $resumed = 1 ]; then  # the old partial file may have been bad: start over once
        echo "get-data: checksum wrong after resuming $part; downloading from the start" >&2
        rm -f "$part"
        msg=$(fetch "$url") || { errs+=("$url: $msg"); continue; }
        if sum_ok "$part"; then ok=1; break; fi
      fi
      more=; [ ${#sum} -lt 32 ] && more=...  # a prefix
      errs+=("$url: $algo checksum $(digest "$part"), expected $sum$more")
      rm -f "$part"  # a complete file with the wrong bytes: never resume from it
    else
      errs+=("$url: $msg")
    fi
  done
  if [ $ok = 0 ]; then
    # Keep the last error per URL on one line each; the final line says what failed.
    for e in "${errs[@]:0:${#errs[@]}-1}"; do echo "get-data: $e" >&2; done
    die "${errs[-1]}"
  fi
  mv -f "$part" "$out"
  echo "get-data: $out ($algo ok)"
fi

genet=${GENET_BIN:-$root/build/genet}
need_genet() {
  [ -x "$genet" ] || die "$genet not found: build genet first (make build), then rerun this script"
}

case $what in
  cifar10)
    need_genet
    tar -xzf "$out" -C "$dest" || die "$out: cannot unpack (corrupt archive?)"
    "$genet" prepare cifar10 "$dest/cifar-10-batches-bin" "$dest/cifar10.h5"
    echo "get-data: wrote $dest/cifar10.h5" ;;
  wikitext2)
    need_genet
    if command -v unzip >/dev/null; then
      unzip -qo "$out" -d "$dest" || die "$out: cannot unpack (corrupt archive?)"
    else
      python3 -m zipfile -e "$out" "$dest" || die "$out: cannot unpack (corrupt archive?)"
    fi
    src=$dest/wikitext-2
    for s in train valid test; do
      [ -f "$src/wiki.$s.tokens" ] || die "$src/wiki.$s.tokens missing after unpacking $out"
      ln -sf "wiki.$s.tokens" "$src/$s.txt"  # the names genet prepare text reads
    done
    "$genet" prepare text "$src" "$dest/wikitext2.h5"
    echo "get-data: wrote $dest/wikitext2.h5" ;;
  vgg19|vgg16)
    py=${GENET_PYTHON:-}
    if [ -z "$py" ]; then
      if [ -x /usr/bin/python3 ]; then py=/usr/bin/python3; else py=python3; fi
    fi
    "$py" "$root/scripts/${what}_to_h5.py" "$out" "$dest/$what.h5" ;;
esac
