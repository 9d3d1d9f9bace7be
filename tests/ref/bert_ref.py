#!/usr/bin/env python3
"""bert_ref.py - a tiny random-weight sentence-transformers model for the
rs-encode tests, and the numpy (float64) reference of its forward pass.

  bert_ref.py gen DIR [SEED]    writes DIR/config.json, tokenizer.json,
                                sentence_bert_config.json, 1_Pooling/config.json
                                and model.safetensors: MiniLM-L6's shapes
                                (hidden 384, 12 heads, intermediate 1536) with
                                2 layers, 64 positions and the small vocabulary
                                of VOCAB below
  bert_ref.py ref DIR TOKENS    reads `rs-encode -f tokens` output (id, token
                                ids) and prints `id v1 .. v384` (TSV): BERT
                                embeddings, post-LN layers with exact (erf)
                                GELU, mean pooling, L2 normalisation

The reference is written from the BERT paper and the sentence-transformers
pipeline, independently of lib/nn/bert.c."""
import json
import math
import os
import struct
import sys

import numpy as np

H, LAYERS, HEADS, INTER, POS, MAX_SEQ = 384, 2, 12, 1536, 64, 16
VOCAB = (["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + list("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
         + list("abcdefghijklmnopqrstuvwxyz0123456789") + ["##" + c for c in "abcdefghijklmnopqrstuvwxyz"]
         + ["the", "cat", "sat", "on", "mat", "un", "##believ", "##able", "cafe", "resume", "naive", "北", "京",
            "東", "¿", "«", "»", "—", "ß", "σ", "ı", "dog", "##gy", "hello", "world"])


def tensors(rng):
    t = {}

    def w(name, *shape, scale=0.08):
        t[name] = (rng.standard_normal(shape) * scale).astype(np.float32)

    def ln(name):
        t[name + ".weight"] = (1 + rng.standard_normal(H) * 0.1).astype(np.float32)
        t[name + ".bias"] = (rng.standard_normal(H) * 0.05).astype(np.float32)

    w("embeddings.word_embeddings.weight", len(VOCAB), H, scale=0.5)
    w("embeddings.position_embeddings.weight", POS, H, scale=0.2)
    w("embeddings.token_type_embeddings.weight", 2, H, scale=0.2)
    ln("embeddings.LayerNorm")
    for layer in range(LAYERS):
        p = "encoder.layer.%d." % layer
        for m in ("query", "key", "value"):
            w(p + "attention.self.%s.weight" % m, H, H)
            w(p + "attention.self.%s.bias" % m, H, scale=0.05)
        w(p + "attention.output.dense.weight", H, H)
        w(p + "attention.output.dense.bias", H, scale=0.05)
        ln(p + "attention.output.LayerNorm")
        w(p + "intermediate.dense.weight", INTER, H)
        w(p + "intermediate.dense.bias", INTER, scale=0.05)
        w(p + "output.dense.weight", H, INTER, scale=0.04)
        w(p + "output.dense.bias", H, scale=0.05)
        ln(p + "output.LayerNorm")
    w("pooler.dense.weight", H, H)
    return t


def write_safetensors(path, t):
    header, off = {"__metadata__": {"format": "pt"}}, 0
    for name, a in t.items():
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + a.nbytes]}
        off += a.nbytes
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        for a in t.values():
            f.write(a.astype("<f4").tobytes())


def tokenizer():
    special = [{"id": i, "content": s, "single_word": False, "lstrip": False, "rstrip": False,
                "normalized": False, "special": True} for i, s in enumerate(VOCAB[:5])]
    return {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": special,
        "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                       "strip_accents": None, "lowercase": True},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {"type": "TemplateProcessing",
                           "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}},
                                      {"Sequence": {"id": "A", "type_id": 0}},
                                      {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
                           "pair": [],
                           "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [2], "tokens": ["[CLS]"]},
                                              "[SEP]": {"id": "[SEP]", "ids": [3], "tokens": ["[SEP]"]}}},
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 12, "vocab": {s: i for i, s in enumerate(VOCAB)}},
    }


def gen(d, seed):
    os.makedirs(os.path.join(d, "1_Pooling"), exist_ok=True)
    config = {"architectures": ["BertModel"], "model_type": "bert", "hidden_act": "gelu", "hidden_size": H,
              "num_hidden_layers": LAYERS, "num_attention_heads": HEADS, "intermediate_size": INTER,
              "vocab_size": len(VOCAB), "max_position_embeddings": POS, "type_vocab_size": 2,
              "layer_norm_eps": 1e-12, "position_embedding_type": "absolute"}
    files = {"config.json": config, "tokenizer.json": tokenizer(),
             "sentence_bert_config.json": {"max_seq_length": MAX_SEQ, "do_lower_case": False},
             "1_Pooling/config.json": {"word_embedding_dimension": H, "pooling_mode_cls_token": False,
                                       "pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": False,
                                       "pooling_mode_mean_sqrt_len_tokens": False}}
    for name, doc in files.items():
        with open(os.path.join(d, name), "w") as f:
            json.dump(doc, f, ensure_ascii=False, indent=1)
    write_safetensors(os.path.join(d, "model.safetensors"), tensors(np.random.default_rng(seed)))


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    return {k: np.frombuffer(data[v["data_offsets"][0]:v["data_offsets"][1]], "<f4").reshape(v["shape"])
            .astype(np.float64) for k, v in header.items() if k != "__metadata__"}


def layer_norm(x, g, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * g + b


def gelu(x):
    erf = np.vectorize(math.erf)
    return 0.5 * x * (1 + erf(x / math.sqrt(2)))


def forward(t, cfg, ids):
    eps, heads = cfg["layer_norm_eps"], cfg["num_attention_heads"]
    n = len(ids)
    x = (t["embeddings.word_embeddings.weight"][ids] + t["embeddings.position_embeddings.weight"][:n]
         + t["embeddings.token_type_embeddings.weight"][0])
    x = layer_norm(x, t["embeddings.LayerNorm.weight"], t["embeddings.LayerNorm.bias"], eps)
    dh = x.shape[1] // heads
    for layer in range(cfg["num_hidden_layers"]):
        p = "encoder.layer.%d." % layer

        def lin(name, v):
            return v @ t[p + name + ".weight"].T + t[p + name + ".bias"]

        q, k, v = (lin("attention.self." + m, x) for m in ("query", "key", "value"))
        ctx = np.zeros_like(x)
        for h in range(heads):
            s = slice(h * dh, (h + 1) * dh)
            a = q[:, s] @ k[:, s].T / math.sqrt(dh)
            a = np.exp(a - a.max(1, keepdims=True))
            ctx[:, s] = (a / a.sum(1, keepdims=True)) @ v[:, s]
        x = layer_norm(x + lin("attention.output.dense", ctx), t[p + "attention.output.LayerNorm.weight"],
                       t[p + "attention.output.LayerNorm.bias"], eps)
        f = lin("output.dense", gelu(lin("intermediate.dense", x)))
        x = layer_norm(x + f, t[p + "output.LayerNorm.weight"], t[p + "output.LayerNorm.bias"], eps)
    m = x.mean(0)
    return m / max(np.linalg.norm(m), 1e-12)


def ref(d, tokens):
    t = read_safetensors(os.path.join(d, "model.safetensors"))
    with open(os.path.join(d, "config.json")) as f:
        cfg = json.load(f)
    out = sys.stdout
    with open(tokens) as f:
        next(f)
        for line in f:
            key, ids = line.rstrip("\n").split("\t")
            v = forward(t, cfg, [int(i) for i in ids.split()])
            out.write(key + "\t" + "\t".join("%.9g" % x for x in v) + "\n")


if __name__ == "__main__":
    if sys.argv[1] == "gen":
        gen(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 7)
    else:
        ref(sys.argv[2], sys.argv[3])
