#!/usr/bin/env bash
# Fetches the ONNX project's own backend test models (Debian's libonnx-testdata: ~1,000 models,
# each with test_data_set_*/input_*.pb and output_*.pb) into ./.corpus/, for the round-trip sweep
# (scripts/corpus-sweep.mjs). The corpus is gitignored and never committed.
#
# Idempotent: does nothing when .corpus/ already holds the unpacked package.
# Needs apt-get and dpkg (Debian/Ubuntu); run as root on a fresh machine it runs `apt-get update`
# itself when the package cannot be downloaded from the current lists.
set -euo pipefail

PKG=libonnx-testdata
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="$ROOT/.corpus"
STAMP="$DEST/.fetched"

if [[ -f "$STAMP" ]] && [[ -d "$DEST/pkg" ]]; then
  echo "fetch-corpus: $DEST already holds $(cat "$STAMP"); nothing to do"
  exit 0
fi

for tool in apt-get dpkg dpkg-deb; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "fetch-corpus: '$tool' not found; this script needs a Debian-based machine (apt-get + dpkg)" >&2
    exit 1
  fi
done

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
# apt-get download as root drops privileges to _apt, which must be able to write the folder.
chmod 0777 "$TMP"

download() {
  (cd "$TMP" && apt-get download -q "$PKG") >"$TMP/apt.log" 2>&1
}

if ! download; then
  echo "fetch-corpus: '$PKG' not in the current package lists; running apt-get update" >&2
  if [[ "$(id -u)" -eq 0 ]]; then
    apt-get update -q >"$TMP/update.log" 2>&1 || { cat "$TMP/update.log" >&2; exit 1; }
  elif command -v sudo >/dev/null 2>&1; then
    sudo apt-get update -q >"$TMP/update.log" 2>&1 || { cat "$TMP/update.log" >&2; exit 1; }
  else
    echo "fetch-corpus: not root and no sudo: run 'apt-get update' as root, then retry" >&2
    exit 1
  fi
  if ! download; then
    cat "$TMP/apt.log" >&2
    echo "fetch-corpus: could not download '$PKG'" >&2
    exit 1
  fi
fi

DEB="$(ls "$TMP"/"$PKG"_*.deb 2>/dev/null | head -n1)"
if [[ -z "$DEB" ]]; then
  cat "$TMP/apt.log" >&2
  echo "fetch-corpus: apt-get download produced no .deb" >&2
  exit 1
fi

# Unpack into a staging folder and move it into place, so a broken run leaves no half corpus.
mkdir -p "$DEST"
rm -rf "$DEST/pkg.partial"
dpkg -x "$DEB" "$DEST/pkg.partial"
rm -rf "$DEST/pkg"
mv "$DEST/pkg.partial" "$DEST/pkg"
basename "$DEB" >"$STAMP"

count="$(find "$DEST/pkg" -name model.onnx | wc -l)"
echo "fetch-corpus: unpacked $(basename "$DEB") into $DEST/pkg ($count model.onnx files)"
