#!/usr/bin/env bash
# pipelines/report.sh DEMO_DIR REPORT_DIR - the demo's report: one HTML page
# with the metrics table, the training curves, EDA histograms and a 2-D PCA map
# of the item embeddings coloured by category. Plots: gnuplot (pngcairo).
set -euo pipefail
D=$1
R=$2
BIN=${BIN:-bin}
USER_COL=${USER_COL:-user_id} # the id columns' names (pipelines/yourdata.mk: the data's own)
ITEM_COL=${ITEM_COL:-item_id}
mkdir -p "$R"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# --- EDA: interactions per user and per item, popularity long tail.
"$BIN/rs-cat" "$D/pos.tsv.zst" | awk -F'\t' -v tmp="$tmp" -v uc="$USER_COL" -v ic="$ITEM_COL" '
    NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
    { u[$col[uc]]++; it[$col[ic]]++ }
    END {
        for (k in u) print u[k] > tmp "/per_user"
        for (k in it) print it[k] > tmp "/per_item"
    }'
sort -rn "$tmp/per_item" | awk '{ print NR "\t" $1 }' > "$tmp/longtail"
for f in per_user per_item; do # log2 buckets: 1, 2-3, 4-7, ...
    awk '{ b = int(log($1) / log(2)); n[b]++; if (b > m) m = b }
         END { for (b = 0; b <= m; b++) printf "%d\t%d\n", 2 ^ b, n[b] + 0 }' "$tmp/$f" > "$tmp/$f.hist"
done

# --- 2-D PCA of the item embeddings, coloured by category.
"$BIN/rs-cluster" -q --pca 2 -o "$tmp/pca.tsv" "$D/item_emb.rsb"
"$BIN/rs-cat" "$D/data/items.tsv.zst" | awk -F'\t' -v pca="$tmp/pca.tsv" -v tmp="$tmp" -v ic="$ITEM_COL" '
    NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
    { cat[$col[ic]] = ("category" in col) ? $col["category"] : "items" }
    END {
        while ((getline line < pca) > 0) {
            split(line, f, "\t")
            if (f[1] == "item_id" || !(f[1] in cat)) continue
            c = cat[f[1]]
            if (!(c in idx)) { idx[c] = n++; names[idx[c]] = c }
            print f[2] "\t" f[3] > tmp "/pca_" idx[c]
        }
        for (i = 0; i < n; i++) print i "\t" names[i] > tmp "/pca_names"
    }'
plot_pca=""
while IFS=$'\t' read -r i name; do
    plot_pca+="'$tmp/pca_$i' using 1:2 with points pt 7 ps 0.5 title '$name', "
done < "$tmp/pca_names"

gnuplot <<GP
set terminal pngcairo size 640,420 font "sans,10" noenhanced
set grid
set style fill solid 0.8
set output "$R/events_per_user.png"
set title "Training interactions per user"
set logscale x 2; set xlabel "interactions (log2 bucket start)"; set ylabel "users"
plot "$tmp/per_user.hist" using 1:2 with boxes lc rgb "#4477aa" notitle
set output "$R/events_per_item.png"
set title "Training interactions per item"; set ylabel "items"
plot "$tmp/per_item.hist" using 1:2 with boxes lc rgb "#228833" notitle
unset logscale
set output "$R/long_tail.png"
set title "Popularity long tail"; set xlabel "item rank"; set ylabel "interactions"
set logscale xy
plot "$tmp/longtail" using 1:2 with lines lw 2 lc rgb "#cc6677" notitle
unset logscale
set output "$R/training.png"
set title "Two-tower training"; set key center right; set xlabel "epoch"; set ylabel "loss"; set y2label "validation recall@k"
set ytics nomirror; set y2tics
plot "$D/tower_log.tsv" using 1:3 every ::1 with linespoints lw 2 title "loss", \
     "$D/tower_log.tsv" using 1:5 every ::1 axes x1y2 with linespoints lw 2 title "recall@k"
unset y2tics; unset y2label; set ytics mirror
set output "$R/items_pca.png"
set title "Item embeddings: first two principal components"; set xlabel "PC1"; set ylabel "PC2"
set key outside right
plot ${plot_pca%, }
GP

# --- the page
{
    cat <<HTML
<!doctype html>
<html><head><meta charset="utf-8"><title>recsys-pipes demo report</title>
<style>
body { font-family: sans-serif; max-width: 1100px; margin: 2em auto; color: #222; }
table { border-collapse: collapse; font-size: 0.9em; }
td, th { padding: 3px 10px; border-bottom: 1px solid #ddd; text-align: right; }
td:first-child, th:first-child { text-align: left; }
th { background: #f0f0f0; } .best { font-weight: bold; color: #1a6; }
img { max-width: 100%; } .grid { display: grid; grid-template-columns: 1fr 1fr; gap: 1em; }
</style></head><body>
<h1>recsys-pipes demo</h1>
<p>Each stage on the test window: the first stages alone (retrieval: the two-tower
through its ANN index; als; popular), their merged candidates (merged: reciprocal rank
fusion), the ranker on the merged candidates (ranked: P(click) + P(booking), trained on the
validation week's labels of the same candidates), and post-ranking (diversified: at most 5
items per category), against a random baseline. The best value of each row is in bold.
Files: <code>$(basename "$D")/</code>.</p>
<h2>Metrics</h2>
HTML
    "$BIN/rs-cat" "$D/metrics.tsv" | awk -F'\t' '
        NR == 1 { printf "<table><tr>"; for (i = 1; i <= NF; i++) printf "<th>%s</th>", $i; print "</tr>"; next }
        $1 ~ /^(users|user_coverage|excluded_users)$/ { next }
        {
            best = -1; lower = ($1 == "gini")
            for (i = 3; i <= NF; i++) if (best < 0 || (lower ? $i < $best : $i > $best)) best = i
            printf "<tr><td>%s</td><td>%s</td>", $1, $2
            for (i = 3; i <= NF; i++) printf "<td%s>%.4f</td>", (i == best ? " class=\"best\"" : ""), $i
            print "</tr>"
        }
        END { print "</table>" }'
    if [ -s "$D/sources.tsv" ]; then
        echo "<h2>First stages</h2><p>Recall of each first stage's candidates and of their merged list on the test window.</p>"
        "$BIN/rs-cat" "$D/sources.tsv" | awk -F'\t' '
            NR == 1 { printf "<table><tr>"; for (i = 1; i <= NF; i++) printf "<th>%s</th>", $i; print "</tr>"; next }
            $1 == "recall" { printf "<tr><td>%s</td><td>%s</td>", $1, $2
                             for (i = 3; i <= NF; i++) printf "<td>%.4f</td>", $i; print "</tr>" }
            END { print "</table>" }'
    fi
    cat <<HTML
<h2>Training</h2>
<div class="grid"><img src="training.png" alt="training curves"><img src="items_pca.png" alt="item PCA"></div>
<h2>Data</h2>
<div class="grid"><img src="events_per_user.png" alt="interactions per user">
<img src="events_per_item.png" alt="interactions per item"><img src="long_tail.png" alt="long tail"></div>
<h2>Prefilter</h2>
HTML
    awk -F'\t' 'NR == 1 { printf "<table><tr>"; for (i = 1; i <= NF; i++) printf "<th>%s</th>", $i; print "</tr>"; next }
                { printf "<tr>"; for (i = 1; i <= NF; i++) printf "<td>%s</td>", $i; print "</tr>" }
                END { print "</table>" }' "$D/prefilter_report.tsv"
    echo "</body></html>"
} > "$R/index.html.tmp"
mv "$R/index.html.tmp" "$R/index.html"
