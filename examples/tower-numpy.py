#!/usr/bin/env python3
"""tower-numpy.py - score user-item pairs with an exported two-tower model in
NumPy alone: no recsys-pipes binary runs.

    rs-cat --to npz -o tower.npz tower.rsm
    examples/tower-numpy.py tower.npz users.tsv items.tsv > scores.tsv

Prints user_id, item_id, score (the dot product of the two towers'
L2-normalised outputs) for every user of USERS.tsv and item of ITEMS.tsv:
what `rs-embed --users` and `rs-embed --items` followed by a dot product
give, to float32 rounding. The tables are TSV with a header (schemas/tsv.md),
the columns the model's features read; the towers are python/recsys_pipes_io.py.
"""
import csv
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
from recsys_pipes_io import TwoTower, load_npz  # noqa: E402


def tsv_rows(path):
    """Rows as dicts; TSV escapes (\\t \\n \\r \\\\) undone."""
    unescape = {"t": "\t", "n": "\n", "r": "\r", "\\": "\\"}

    def field(s):
        out, i = [], 0
        while i < len(s):
            if s[i] == "\\" and i + 1 < len(s) and s[i + 1] in unescape:
                out.append(unescape[s[i + 1]])
                i += 2
            else:
                out.append(s[i])
                i += 1
        return "".join(out)

    with open(path, newline="", encoding="utf-8", errors="surrogateescape") as f:
        rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [dict(zip(rows[0], map(field, r))) for r in rows[1:]]


def escape(s):
    return s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: tower-numpy.py MODEL.npz USERS.tsv ITEMS.tsv")
    tower = TwoTower(*load_npz(sys.argv[1]))
    users = [(r[tower.id_col["user"]], tower.embed("user", r)) for r in tsv_rows(sys.argv[2])]
    items = [(r[tower.id_col["item"]], tower.embed("item", r)) for r in tsv_rows(sys.argv[3])]
    out = sys.stdout
    out.write("user_id\titem_id\tscore\n")
    for u, zu in users:
        for i, zi in items:
            out.write(f"{escape(u)}\t{escape(i)}\t{float(zu @ zi):.9g}\n")


if __name__ == "__main__":
    main()
