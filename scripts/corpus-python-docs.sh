#!/bin/sh
# A real English corpus for peerc experiments: the reStructuredText sources of
# the Python 3.11 documentation, as Debian's `python3.11-doc` package ships them
# (/usr/share/doc/python3.11/html/_sources/**/*.rst.txt). Installed with
# apt-get; nothing is fetched from anywhere else.
#
#   scripts/corpus-python-docs.sh [OUTDIR]     (default: data/python-docs)
#
# Writes OUTDIR/train.txt and OUTDIR/val.txt (UTF-8, LF line ends) and
# OUTDIR/README.txt (package version, sizes, split). The split is by
# document: the sources sorted by path (C locale), document i (from 0) goes to
# val.txt when i % 20 == 19 (5% of the documents), the rest to train.txt, each
# document followed by one blank line. Use them with
#   peerc sweep SPEC --data OUTDIR/train.txt --val-data OUTDIR/val.txt …
#   peerc train SPEC -- --data OUTDIR/train.txt --val-data OUTDIR/val.txt
set -eu

OUT=${1:-data/python-docs}
SRC=/usr/share/doc/python3.11/html/_sources
PKG=python3.11-doc

if ! dpkg-query -W -f='${Status}' "$PKG" 2>/dev/null | grep -q "install ok installed"; then
  echo "installing Debian's $PKG (apt-get)" >&2
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get install -y --no-install-recommends "$PKG" || {
    echo "error: could not install $PKG; try: sudo apt-get update && sudo apt-get install $PKG" >&2
    exit 1
  }
fi
if [ ! -d "$SRC" ]; then
  echo "error: $SRC is missing although $PKG is installed" >&2
  exit 1
fi

mkdir -p "$OUT"
# Keep the generated corpus out of git (it is rebuilt by this script).
printf "*\n" > "$OUT/.gitignore"
TRAIN="$OUT/train.txt"
VAL="$OUT/val.txt"
: > "$TRAIN.tmp"
: > "$VAL.tmp"
LIST="$OUT/.sources.tmp"
# Plain and gzip-compressed sources alike (Debian may compress large docs).
(cd "$SRC" && find . -type f \( -name '*.txt' -o -name '*.txt.gz' \) | LC_ALL=C sort) > "$LIST"
i=0
while IFS= read -r f; do
  if [ $((i % 20)) -eq 19 ]; then dest="$VAL.tmp"; else dest="$TRAIN.tmp"; fi
  case "$f" in
    *.gz) gzip -dc "$SRC/$f" ;;
    *) cat "$SRC/$f" ;;
  esac | tr -d '\r' | iconv -f UTF-8 -t UTF-8 -c >> "$dest"
  printf '\n\n' >> "$dest"
  i=$((i + 1))
done < "$LIST"
rm -f "$LIST"
mv "$TRAIN.tmp" "$TRAIN"
mv "$VAL.tmp" "$VAL"

VERSION=$(dpkg-query -W -f='${Version}' "$PKG")
TRAIN_BYTES=$(wc -c < "$TRAIN" | tr -d ' ')
VAL_BYTES=$(wc -c < "$VAL" | tr -d ' ')
VAL_DOCS=$((i / 20))
cat > "$OUT/README.txt" <<INFO
Corpus: reStructuredText sources of the Python 3.11 documentation
Debian package: $PKG $VERSION ($SRC)
Documents: $i (sorted by path, C locale); validation: document i when i % 20 == 19 ($VAL_DOCS documents)
train.txt: $TRAIN_BYTES bytes
val.txt: $VAL_BYTES bytes
Written by scripts/corpus-python-docs.sh
INFO
cat "$OUT/README.txt" >&2
