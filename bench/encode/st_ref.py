#!/usr/bin/env python3
"""st_ref.py - the reference side of bench/encode: sentence-transformers on
PyTorch CPU over the same sentences, same batch size and thread count as
rs-encode.

Usage: st_ref.py MODEL_DIR SENTENCES.tsv OUT_PREFIX BATCH THREADS
Writes OUT_PREFIX.npy (the embeddings, in input order) and OUT_PREFIX.tokens
(`id<TAB>ids` as rs-encode -f tokens, from the model's HF tokenizer with the
truncation SentenceTransformer uses), and prints one line:
`sentences N encode_s S cpu_s C rate R peak_mib M` (the encode call only, model
loaded and warmed up on the first batch)."""
import os
import resource
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from sentence_transformers import SentenceTransformer  # noqa: E402


def main():
    model_dir, sentences, out, batch, threads = sys.argv[1:6]
    torch.set_num_threads(int(threads))
    ids, texts = [], []
    with open(sentences, encoding="utf-8") as f:
        next(f)
        for line in f:
            key, text = line.rstrip("\n").split("\t", 1)
            ids.append(key)
            texts.append(text)
    model = SentenceTransformer(model_dir, device="cpu")
    model.encode(texts[: int(batch)], batch_size=int(batch))
    t0, c0 = time.perf_counter(), time.process_time()
    emb = model.encode(texts, batch_size=int(batch), convert_to_numpy=True, normalize_embeddings=False)
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    np.save(out + ".npy", emb.astype(np.float32))
    tok = model.tokenizer(texts, truncation=True, max_length=model.max_seq_length)["input_ids"]
    with open(out + ".tokens", "w") as f:
        f.write("id\ttokens\n")
        for key, t in zip(ids, tok):
            f.write(key + "\t" + " ".join(map(str, t)) + "\n")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("sentences %d encode_s %.3f cpu_s %.3f rate %.1f peak_mib %.1f torch %s"
          % (len(texts), dt, cpu, len(texts) / dt, peak, torch.__version__))


if __name__ == "__main__":
    main()
