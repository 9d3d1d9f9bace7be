"""report_parse.py REPORT.html QUERY [ARGS] - reads an rs-report page with
Python's HTML parser (a tree of elements, not a grep) and answers one query
for tests/33-rs-report.bats:

  sections                  the h2 ids, in order
  external                  how many scripts and http(s) links or sources
  cell OUT MODEL COLUMN     a cell of the metrics table of the rs-metrics run
                            that wrote a file ending in OUT (segment all)
  segcell OUT SEGMENT MODEL COLUMN   the same in the table of a segment
  direction OUT COLUMN      that column's direction
  best OUT COLUMN           the text of its cell marked best ("" if none)
  plots SECTION             per chart of the section: title|mark label|...
  points SECTION TITLE      the dots of that section's chart of that title
  params TOOL               the parameters of the first run of TOOL, one a line
  compare METRIC            the comparison row: direction|a|b|difference|class
  segments OUT              the segments of the tables of the rs-metrics run
                            that wrote OUT, in order
"""
import sys
from html.parser import HTMLParser

VOID = {"meta", "br", "rect", "line", "circle", "polyline", "img", "link"}


class Node:
    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.parent, self.kids = tag, dict(attrs), parent, []

    def text(self):
        return "".join(k if isinstance(k, str) else k.text() for k in self.kids)

    def all(self, tag):
        for k in self.kids:
            if isinstance(k, Node):
                if k.tag == tag:
                    yield k
                yield from k.all(tag)


class Tree(HTMLParser):
    def __init__(self):
        super().__init__()
        self.root = self.cur = Node("root", {}, None)

    def handle_starttag(self, tag, attrs):
        n = Node(tag, attrs, self.cur)
        self.cur.kids.append(n)
        if tag not in VOID:
            self.cur = n

    def handle_startendtag(self, tag, attrs):
        self.cur.kids.append(Node(tag, attrs, self.cur))

    def handle_endtag(self, tag):
        n = self.cur
        while n.parent and n.tag != tag:
            n = n.parent
        if n.parent:
            self.cur = n.parent

    def handle_data(self, data):
        self.cur.kids.append(data)


def body_order(root):
    """The elements in document order."""
    out = []

    def walk(n):
        for k in n.kids:
            if isinstance(k, Node):
                out.append(k)
                walk(k)
    walk(root)
    return out


def section(order, sid):
    """The elements between h2#sid and the next h2."""
    out, inside = [], False
    for n in order:
        if n.tag == "h2":
            inside = n.attrs.get("id") == sid
        elif inside:
            out.append(n)
    return out


def metrics_table(order, out, segment="all"):
    for i, n in enumerate(order):
        if n.tag == "h3" and n.text().endswith(out):
            for m in order[i:]:
                if m.tag == "table" and m.attrs.get("data-segment") == segment:
                    return [r for r in m.all("tr")]
    sys.exit(f"no metrics table of {out}")


def column_of(rows, column):
    heads = [c.text() for c in rows[0].kids if isinstance(c, Node)]
    return heads.index(column)


def cells(row):
    return [c for c in row.kids if isinstance(c, Node)]


def charts(nodes):
    """(title, marks, dots) of each svg among nodes."""
    out = []
    for svg in (n for n in nodes if n.tag == "svg"):
        title, marks, dash = None, [], False
        for k in body_order(svg):
            if k.tag == "text" and title is None and k.attrs.get("font-weight") == "bold":
                title = k.text()
            elif k.tag == "line" and "stroke-dasharray" in k.attrs:
                dash = True
            elif k.tag == "text" and dash:
                marks.append(k.text())
                dash = False
        out.append((title, marks, sum(1 for _ in svg.all("circle"))))
    return out


def main():
    tree = Tree()
    tree.feed(open(sys.argv[1], encoding="utf-8").read())
    order = body_order(tree.root)
    q, args = sys.argv[2], sys.argv[3:]
    if q == "sections":
        print(" ".join(n.attrs.get("id", "") for n in order if n.tag == "h2"))
    elif q == "external":
        links = [n for n in order for a in ("src", "href") if n.attrs.get(a, "").startswith(("http:", "https:", "//"))]
        print(len([n for n in order if n.tag == "script"]) + len(links))
    elif q in ("cell", "direction", "best"):
        rows = metrics_table(order, args[0])
        c = column_of(rows, args[-1])
        if q == "direction":
            print(cells(rows[1])[c].attrs.get("data-direction"))
        elif q == "best":
            print("".join(cells(r)[c].text() for r in rows[2:] if cells(r)[c].attrs.get("class") == "best"))
        else:
            print(next(cells(r)[c].text() for r in rows[2:] if cells(r)[0].text() == args[1]))
    elif q == "segcell":
        rows = metrics_table(order, args[0], args[1])
        c = column_of(rows, args[3])
        print(next(cells(r)[c].text() for r in rows[2:] if cells(r)[0].text() == args[2]))
    elif q == "segments":
        start = next(i for i, n in enumerate(order) if n.tag == "h3" and n.text().endswith(args[0]))
        segs = []
        for n in order[start + 1:]:
            if n.tag in ("h2", "details") or (n.tag == "h3" and n.text().startswith("rs-metrics run")):
                break
            if n.tag == "table" and "data-segment" in n.attrs:
                segs.append(n.attrs["data-segment"])
        print(" ".join(segs))
    elif q == "plots":
        for title, marks, _ in charts(section(order, args[0])):
            print("|".join([title] + marks))
    elif q == "points":
        print(next(d for t, _, d in charts(section(order, args[0])) if t == args[1]))
    elif q == "params":
        row = next(r for r in section(order, "runs") if r.tag == "tr" and len(cells(r)) > 1 and cells(r)[1].text() == args[0])
        print("\n".join(c.text() for c in row.all("code")))
    elif q == "compare":
        for r in (n for n in order if n.tag == "tr"):
            c = cells(r)
            if c and c[0].tag == "td" and c[0].text() == args[0] and r.parent.attrs.get("class") == "compare-metrics":
                print("|".join([x.text() for x in c[1:]] + [c[-1].attrs.get("class", "")]))
                return
        sys.exit(f"no comparison row {args[0]}")
    else:
        sys.exit(f"unknown query {q}")


main()
