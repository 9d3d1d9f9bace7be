#!/usr/bin/env bash
# pipelines/fetch-ml100k.sh - MovieLens 100K into DATA_ML100K (`make data-ml100k`).
#
# Downloads GroupLens' ml-100k.zip with curl, checks the SHA-256 of its
# u.data (the ratings; the archive itself is not checked, only the file the
# pipelines and benchmarks read first), and moves the files of its ml-100k/
# folder into DATA_ML100K. When the download or the check fails it prints the
# steps to do by hand and exits 1, leaving DATA_ML100K as it was.
# MovieLens' terms forbid redistributing the data: never commit it.
#
# Environment (the Makefile passes its variables of the same names):
#   DATA_ML100K     destination folder (default data/ml-100k, git-ignored)
#   ML100K_URL      the archive (default GroupLens'; file:// works too)
#   ML100K_SHA256   SHA-256 of u.data (default: the MovieLens 100K release's)
#   ML100K_TIMEOUT  curl --max-time in seconds (default 120)
#   PYTHON          unpacks the zip (python -m zipfile; default /usr/bin/python3)
set -euo pipefail

OFFICIAL_URL=https://files.grouplens.org/datasets/movielens/ml-100k.zip
OFFICIAL_SHA256=06416e597f82b7342361e41163890c81036900f418ad91315590814211dca490
DEST=${DATA_ML100K:-data/ml-100k}
URL=${ML100K_URL:-$OFFICIAL_URL}
SHA256=${ML100K_SHA256:-$OFFICIAL_SHA256}
TIMEOUT=${ML100K_TIMEOUT:-120}
PYTHON=${PYTHON:-/usr/bin/python3}
me=data-ml100k

sha_of() { sha256sum < "$1" | cut -d' ' -f1; }

# by_hand REASON: the manual steps, then exit 1.
by_hand() {
    cat >&2 <<EOF
$me: $1
MovieLens 100K by hand (GroupLens Research, https://grouplens.org/datasets/movielens/):
  1. download $OFFICIAL_URL
  2. unzip it and put the files of its ml-100k/ folder (u.data, u.item,
     u.user, u.genre, ...) in '$DEST', or anywhere and pass DATA_ML100K=that/folder
  3. check the ratings file: sha256sum '$DEST/u.data' must print
     $SHA256
The data's terms forbid redistributing it: do not commit it.
EOF
    exit 1
}

if [ -f "$DEST/u.data" ]; then
    got=$(sha_of "$DEST/u.data")
    if [ "$got" = "$SHA256" ]; then
        echo "$me: '$DEST' already holds MovieLens 100K (u.data checksum matches)"
        exit 0
    fi
    echo "$me: '$DEST/u.data' exists with another checksum ($got, want $SHA256);" \
         "remove it or choose another DATA_ML100K" >&2
    exit 1
fi

parent=$(dirname "$DEST")
made=
[ -d "$parent" ] || { mkdir -p "$parent"; made=$parent; }
tmp=$(mktemp -d "$parent/.ml-100k.XXXXXX")
trap 'rm -rf "$tmp"; [ -z "$made" ] || rmdir "$made" 2> /dev/null || true' EXIT

command -v curl > /dev/null || by_hand "curl not found: cannot download '$URL'"
echo "$me: downloading '$URL'"
if ! err=$(curl -fsSL --connect-timeout 10 --max-time "$TIMEOUT" -o "$tmp/ml-100k.zip" "$URL" 2>&1); then
    by_hand "cannot download '$URL': ${err:-curl failed}"
fi
"$PYTHON" -m zipfile -e "$tmp/ml-100k.zip" "$tmp/x" 2> /dev/null ||
    by_hand "'$URL' is not a zip archive"
[ -f "$tmp/x/ml-100k/u.data" ] || by_hand "'$URL' holds no ml-100k/u.data"
got=$(sha_of "$tmp/x/ml-100k/u.data")
[ "$got" = "$SHA256" ] ||
    by_hand "checksum mismatch for u.data of '$URL': got $got, want $SHA256"

mkdir -p "$DEST"
mv -f "$tmp/x/ml-100k/"* "$DEST/"
echo "$me: MovieLens 100K in '$DEST' (u.data sha256 $SHA256)"
