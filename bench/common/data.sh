# shellcheck shell=bash
# bench/common/data.sh - sourced by the benchmarks that read real data sets,
# as `. bench/common/data.sh bench/NAME` (bench/README.md, "Data sets"). The
# data is read where the variables point and never copied into the repository.
#
#   DATA_ML100K   MovieLens 100K folder (u.data, u.item, u.user, u.genre);
#                 default data/ml-100k, where `make data-ml100k` puts it
#   DATA_TAOBAO   Taobao User Behavior CSV (UserBehavior.csv or a head of it)
#   DATA_REES46   REES46 multi-category store CSV (2019-Oct.csv or a head of it)
#
# have_data NAME (ml100k, taobao, rees46): 0 when the data set is where its
# variable points; otherwise prints on stderr what it is, where it comes from
# and how to point the variable at it, and returns 1 (the caller skips).

BENCH_NAME=${1:-bench}
DATA_ML100K=${DATA_ML100K:-data/ml-100k}
DATA_TAOBAO=${DATA_TAOBAO:-}
DATA_REES46=${DATA_REES46:-}

# unset_or_missing VAR: "VAR is not set" or "VAR='value' is not a file".
unset_or_missing() {
    if [ -z "${!1}" ]; then echo "$1 is not set"; else echo "$1='${!1}' is not a file"; fi
}

have_data() {
    local who=$BENCH_NAME
    case $1 in
    ml100k)
        [ -f "$DATA_ML100K/u.data" ] && [ -f "$DATA_ML100K/u.item" ] &&
            [ -f "$DATA_ML100K/u.user" ] && [ -f "$DATA_ML100K/u.genre" ] && return 0
        cat >&2 <<EOF
$who: skipped MovieLens 100K: DATA_ML100K='$DATA_ML100K' lacks u.data, u.item, u.user or u.genre
  MovieLens 100K (GroupLens Research, ml-100k.zip: 100,000 ratings of 1,682
  movies by 943 users). Run 'make data-ml100k' (downloads
  https://files.grouplens.org/datasets/movielens/ml-100k.zip into DATA_ML100K,
  default data/ml-100k), or set DATA_ML100K to the folder that holds its files.
EOF
        ;;
    taobao)
        [ -n "$DATA_TAOBAO" ] && [ -f "$DATA_TAOBAO" ] && return 0
        cat >&2 <<EOF
$who: skipped Taobao: $(unset_or_missing DATA_TAOBAO)
  Taobao User Behavior: "User Behavior Data from Taobao for Recommendation",
  Alibaba, Tianchi dataset 649, one file UserBehavior.csv (about 100 M rows,
  no header: user_id,item_id,category_id,behavior_type,timestamp). Download
  it from Tianchi, then set DATA_TAOBAO=path/to/UserBehavior.csv or to a head
  of it (the figures in bench/README.md: head -n 84287 UserBehavior.csv).
EOF
        ;;
    rees46)
        [ -n "$DATA_REES46" ] && [ -f "$DATA_REES46" ] && return 0
        cat >&2 <<EOF
$who: skipped REES46: $(unset_or_missing DATA_REES46)
  REES46: "eCommerce behavior data from multi category store" (REES46 /
  Open CDP, published on Kaggle by Michael Kechinov), file 2019-Oct.csv.
  Download it from Kaggle, then set DATA_REES46=path/to/2019-Oct.csv or to a
  head of it (the figures in bench/README.md: the events before 02:50 UTC,
  awk -F, 'NR == 1 || \$1 < "2019-10-01 02:50:00" { print; next } { exit }').
EOF
        ;;
    *)
        echo "have_data: unknown data set '$1'" >&2
        ;;
    esac
    return 1
}
