#!/usr/bin/env python3
"""knn_ref.py - numpy reference for rs-retrieve's exact search.

usage: knn_ref.py USERS.tsv ITEMS.tsv K [--exclude PAIRS.tsv] [--deny ITEMS.tsv]
       [--allow ITEMS.tsv] [--similar]
USERS/ITEMS are rs-cat's TSV view of RSB (id, v1..vN). Prints the candidates
TSV that rs-retrieve must print: per query the top K items by dot product,
ties to the lower item id in byte order, excluded/denied items dropped."""
import sys
import numpy as np


def read_vectors(path):
    with open(path, encoding="utf-8") as f:
        next(f)
        rows = [line.rstrip("\n").split("\t") for line in f]
    return [r[0] for r in rows], np.array([[float(v) for v in r[1:]] for r in rows], dtype=np.float64)


def read_col(path, col):
    with open(path, encoding="utf-8") as f:
        head = next(f).rstrip("\n").split("\t")
        i = head.index(col)
        return [line.rstrip("\n").split("\t")[i] for line in f]


def main(argv):
    users, items, k = argv[1], argv[2], int(argv[3])
    opts = dict(zip(argv[4::2], argv[5::2])) if "--similar" not in argv else {}
    similar = "--similar" in argv
    if similar:
        rest = [a for a in argv[4:] if a != "--similar"]
        opts = dict(zip(rest[0::2], rest[1::2]))
    iid, iv = read_vectors(items)
    order = sorted(range(len(iid)), key=lambda i: iid[i].encode())
    iid = [iid[i] for i in order]
    iv = iv[order]
    uid, uv = (iid, iv) if similar else read_vectors(users)
    seen = {}
    if "--exclude" in opts:
        for u, i in zip(read_col(opts["--exclude"], "user_id"), read_col(opts["--exclude"], "item_id")):
            seen.setdefault(u, set()).add(i)
    deny = set(read_col(opts["--deny"], "item_id")) if "--deny" in opts else set()
    allow = set(read_col(opts["--allow"], "item_id")) if "--allow" in opts else None
    scores = uv @ iv.T
    out = ["query_item_id" if similar else "user_id", "\titem_id\trank\tscore\n"]
    pos = np.arange(len(iid))
    for q, u in enumerate(uid):
        ranked = np.lexsort((pos, -scores[q]))  # by score desc, then item position (= id order)
        rank = 0
        for i in ranked:
            it = iid[i]
            if it in deny or (allow is not None and it not in allow) or it in seen.get(u, ()):
                continue
            if similar and it == u:
                continue
            rank += 1
            out.append("%s\t%s\t%d\t%s\n" % (u, it, rank, "%.9g" % np.float32(scores[q, i])))
            if rank == k:
                break
    sys.stdout.write("".join(out))


if __name__ == "__main__":
    main(sys.argv)
