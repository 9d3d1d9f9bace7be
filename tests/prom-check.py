#!/usr/bin/env python3
"""A strict reader of the Prometheus text exposition format 0.0.4
(https://prometheus.io/docs/instrumenting/exposition_formats/), for the tests:
promtool is not packaged in the test image. Usage: prom-check.py FILE
Checks every line's grammar (names, labels with escapes, float values), that a
family's # HELP and # TYPE come once and before its samples, that no series
repeats, and that each histogram has increasing le buckets ending at +Inf,
cumulative counts, and _count equal to the +Inf bucket and _sum present.
Prints "name{labels} value" per sample, sorted; exits 1 naming the first
fault."""
import math
import re
import sys

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"'
PLAIN = re.sub(r"\((?!\?)", "(?:", LABEL)
SAMPLE = re.compile(rf"^({NAME})(\{{(?:{PLAIN}(?:,{PLAIN})*)?\}})? (\S+)(?: -?[0-9]+)?$")


def fail(n, line, why):
    sys.exit(f"line {n}: {why}: {line!r}")


def value(n, line, text):
    if text in ("+Inf", "-Inf", "NaN"):
        return float(text.replace("Inf", "inf").replace("NaN", "nan"))
    if not re.fullmatch(r"-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?", text):
        fail(n, line, "bad value")
    return float(text)


def main():
    text = open(sys.argv[1], encoding="utf-8").read()
    if not text.endswith("\n"):
        sys.exit("the exposition does not end with a newline")
    types, helps, series, seen_family = {}, set(), {}, set()
    for n, line in enumerate(text.split("\n")[:-1], 1):
        if line.startswith("#"):
            m = re.fullmatch(rf"# (HELP|TYPE) ({NAME}) (.*)", line)
            if not m:
                fail(n, line, "bad comment")
            kind, name, rest = m.groups()
            if name in seen_family:
                fail(n, line, "HELP/TYPE after the family's samples")
            if kind == "TYPE":
                if rest not in ("counter", "gauge", "histogram", "summary", "untyped") or name in types:
                    fail(n, line, "bad or repeated TYPE")
                types[name] = rest
            elif name in helps:
                fail(n, line, "repeated HELP")
            else:
                helps.add(name)
            continue
        m = SAMPLE.match(line)
        if not m:
            fail(n, line, "bad sample")
        name = m.group(1)
        labels = tuple(re.findall(LABEL, m.group(2) or ""))
        if len({k for k, _ in labels}) != len(labels):
            fail(n, line, "repeated label")
        family = re.sub(r"_(bucket|sum|count)$", "", name) if re.sub(r"_(bucket|sum|count)$", "", name) in types else name
        if family not in types:
            fail(n, line, "sample before its TYPE")
        if types[family] == "counter" and not name.endswith("_total"):
            fail(n, line, "a counter not named _total")
        seen_family.add(family)
        key = (name, labels)
        if key in series:
            fail(n, line, "repeated series")
        series[key] = value(n, line, m.group(3))
        if types[family] == "counter" and series[key] < 0:
            fail(n, line, "negative counter")
    for family, kind in types.items():
        if kind != "histogram":
            continue
        groups = {}
        for (name, labels), v in series.items():
            if name == family + "_bucket":
                rest = tuple(l for l in labels if l[0] != "le")
                le = [l[1] for l in labels if l[0] == "le"]
                if len(le) != 1:
                    sys.exit(f"{family}: a bucket without le")
                groups.setdefault(rest, []).append((value(0, le[0], le[0]), v))
        if not groups:
            sys.exit(f"{family}: no buckets")
        for rest, buckets in groups.items():
            les = [le for le, _ in buckets]
            if les != sorted(les) or len(set(les)) != len(les) or les[-1] != math.inf:
                sys.exit(f"{family}{rest}: le not increasing to +Inf")
            counts = [v for _, v in buckets]
            if counts != sorted(counts):
                sys.exit(f"{family}{rest}: bucket counts not cumulative")
            if series.get((family + "_count", rest)) != counts[-1] or (family + "_sum", rest) not in series:
                sys.exit(f"{family}{rest}: _count differs from the +Inf bucket, or no _sum")
    for (name, labels), v in sorted(series.items()):
        print(name + ("{" + ",".join(f'{k}="{x}"' for k, x in labels) + "}" if labels else ""), repr(v))


main()
