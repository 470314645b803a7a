#!/usr/bin/python3
"""oc-prep.py: a netconfd-loadable copy of the OpenConfig models (peerd lab).

    oc-prep.py SRC_DIR OUT_DIR MODULE

Reads the unmodified upstream YANG files under SRC_DIR (recursively), takes
the import/include closure of MODULE and writes one flat file per module into
OUT_DIR. netconfd 2.13 (yuma123) cannot load the upstream text as it is, so
the copy is rewritten without changing the schema (same nodes, names,
namespaces, types; only where statements are written changes):

  A. submodules are merged into their module (yuma123 issue #82: a prefixed
     identityref base inside a submodule does not resolve); the submodule's
     imports move to the module, a clashing prefix is renamed;
  B. in MODULE, a top-level `uses G;` of a local grouping is replaced by the
     grouping's statements (yuma123 drops the values of leafrefs from other
     modules' groupings that sit below a top-level `uses`);
  C. MODULE imports, under the same prefix, every module that path/when/must
     expressions in the copy refer to (yuma123 resolves those prefixes
     against the module that instantiates the grouping).

Every rewritten file starts with a comment saying what was done to it.
Python 3 standard library only.
"""
import os
import re
import sys

WORD = re.compile(r"[^\s;{}\"']+")


def skip_blank(t, i, n):
    """Index of the next character in t[i:n] that is not blank or a comment."""
    while i < n:
        if t[i].isspace():
            i += 1
        elif t.startswith("//", i):
            j = t.find("\n", i)
            i = n if j < 0 else j + 1
        elif t.startswith("/*", i):
            j = t.find("*/", i + 2)
            i = n if j < 0 else j + 2
        else:
            break
    return i


def stmts(t, i, n):
    """The statements of t[i:n] at nesting depth 0, as (keyword, argument,
    start, end) with end just past the closing ';' or '}'."""
    out = []
    while True:
        i = skip_blank(t, i, n)
        if i >= n:
            return out
        m = WORD.match(t, i)
        if not m:
            raise ValueError(f"unparsable YANG at offset {i}: {t[i:i + 40]!r}")
        start, i, depth, arg_end = i, m.end(), 0, None
        while i < n:
            c = t[i]
            if c == '"':
                i += 1
                while i < n and t[i] != '"':
                    i += 2 if t[i] == "\\" else 1
                i += 1
            elif c == "'":
                i = t.index("'", i + 1) + 1
            elif t.startswith("//", i) or t.startswith("/*", i):
                i = skip_blank(t, i, n)
            elif c == "{":
                if depth == 0:
                    arg_end = i
                depth += 1
                i += 1
            elif c == "}":
                depth -= 1
                i += 1
                if depth == 0:
                    break
            elif c == ";" and depth == 0:
                arg_end = i
                i += 1
                break
            else:
                i += 1
        arg = t[m.end():arg_end].strip()
        if len(arg) > 1 and arg[0] == arg[-1] and arg[0] in "\"'":
            arg = arg[1:-1]
        out.append((m.group(0), arg, start, i))


def body(t, a, b):
    """The sub-statements of the statement t[a:b]."""
    return stmts(t, t.index("{", a) + 1, t.rindex("}", a, b))


def sub_arg(t, a, b, kw):
    return next(x[1] for x in body(t, a, b) if x[0] == kw)


class Yang:
    """One module or submodule file."""

    def __init__(self, path, text):
        self.path, self.text = path, text
        top = stmts(text, 0, len(text))
        if len(top) != 1 or top[0][0] not in ("module", "submodule"):
            raise ValueError(f"{path}: not one module or submodule")
        self.kind, self.name, a, b = top[0]
        self.top = body(text, a, b)
        self.end = text.rindex("}", a, b)   # the module's closing brace
        self.prefix = None
        self.imports = []   # (module, prefix); a module may be imported twice
        self.includes = []
        for kw, arg, x, y in self.top:
            if kw == "prefix":
                self.prefix = arg
            elif kw == "belongs-to":
                self.prefix = sub_arg(text, x, y, "prefix")
            elif kw == "import":
                self.imports.append((arg, sub_arg(text, x, y, "prefix")))
            elif kw == "include":
                self.includes.append(arg)

    def last(self, *kws):
        """End offset of the last top-level statement with one of kws."""
        return [y for kw, _, _, y in self.top if kw in kws][-1]


def load(src):
    index = {}
    for d, _, files in os.walk(src):
        for f in sorted(files):
            if f.endswith(".yang"):
                p = os.path.join(d, f)
                with open(p, encoding="utf-8") as fh:
                    y = Yang(p, fh.read())
                if y.name in index:
                    sys.exit(f"oc-prep: {y.name} twice: {index[y.name].path}, {p}")
                index[y.name] = y
    return index


def closure(index, root):
    seen, todo = [], [root]
    while todo:
        m = todo.pop()
        if m in seen:
            continue
        if m not in index:
            sys.exit(f"oc-prep: module {m} is not under the source directory")
        seen.append(m)
        todo += [im for im, _ in index[m].imports] + index[m].includes
    return seen


def rename(text, mapping):
    """Rewrites `old:` prefixes (not inside a longer name) per mapping."""
    if not mapping:
        return text
    alt = "|".join(map(re.escape, sorted(mapping, key=len, reverse=True)))
    return re.sub(r"(?<![\w.-])(" + alt + r"):(?=[A-Za-z_])",
                  lambda m: mapping[m.group(1)] + ":", text)


# Top-level statements of a submodule that stay behind when it is merged.
META = {"belongs-to", "yang-version", "import", "include", "organization",
        "contact", "description", "reference", "revision"}


def merge_submodules(mod, index):
    """A: the module's text with its (transitive) submodules merged in."""
    subs, todo = [], list(mod.includes)
    while todo:
        s = todo.pop(0)
        if s not in subs:
            subs.append(s)
            todo += index[s].includes
    if not subs:
        return mod.text, []
    have = {}   # module -> the prefix the merged text uses for it
    for im, pfx in mod.imports:
        have.setdefault(im, pfx)
    taken = {pfx for _, pfx in mod.imports} | {mod.prefix}
    extra, merged, notes = [], [], []
    for name in subs:
        sub = index[name]
        mapping = {sub.prefix: mod.prefix} if sub.prefix != mod.prefix else {}
        for im, pfx in sub.imports:
            if im in have:
                if have[im] != pfx:
                    mapping[pfx] = have[im]
                    notes.append(f"{name}: prefix {pfx} -> {have[im]} ({im})")
                continue
            new, k = pfx, 2
            while new in taken:
                new, k = f"{pfx}-{k}", k + 1
            if new != pfx:
                mapping[pfx] = new
                notes.append(f"{name}: prefix {pfx} -> {new} ({im})")
            have[im] = new
            taken.add(new)
            extra.append(f"import {im} {{ prefix {new}; }}")
        parts = [rename(sub.text[a:b], mapping) for kw, _, a, b in sub.top
                 if kw not in META and ":" not in kw]
        merged.append(f"\n  // oc-prep.py: content of submodule {name}\n  "
                      + "\n\n  ".join(parts) + "\n")
    t = mod.text
    anchor = mod.last("import", "prefix", "namespace", "yang-version")
    out, pos = [], 0
    for kw, arg, a, b in mod.top:
        if kw == "include":
            out += [t[pos:a], f"// include {arg}; merged below by oc-prep.py"]
            pos = b
        if b == anchor and extra:
            out += [t[pos:b], "\n  // oc-prep.py: imports of the merged submodules\n  ",
                    "\n  ".join(extra)]
            pos = b
    out += [t[pos:mod.end], "".join(merged), t[mod.end:]]
    return "".join(out), [f"merged submodules: {', '.join(subs)}"] + notes


def inline_root_uses(path, text):
    """B: replaces each top-level `uses G;` of a local grouping G by G's
    statements (G itself stays defined)."""
    y = Yang(path, text)
    groupings = {arg: (a, b) for kw, arg, a, b in y.top if kw == "grouping"}
    out, pos, done = [], 0, []
    for kw, arg, a, b in y.top:
        if kw != "uses" or arg not in groupings or text[b - 1] != ";":
            continue
        ga, gb = groupings[arg]
        inner = body(text, ga, gb)
        if any(x[0] in ("typedef", "grouping") for x in inner):
            continue   # its own definitions would move scope
        keep = [text[x[2]:x[3]] for x in inner
                if x[0] not in ("description", "reference", "status")]
        out += [text[pos:a], f"// uses {arg}; inlined by oc-prep.py\n  ", "\n  ".join(keep)]
        pos = b
        done.append(arg)
    out.append(text[pos:])
    return "".join(out), done


XPATH = re.compile(r'\b(?:path|when|must)\s+("(?:[^"\\]|\\.)*"(?:\s*\+\s*"(?:[^"\\]|\\.)*")*)')


def xpath_imports(y):
    """{prefix: module} for the prefixes y's path/when/must expressions use."""
    known = dict((p, m) for m, p in y.imports)
    known[y.prefix] = y.name
    found = {}
    for m in XPATH.finditer(y.text):
        expr = re.sub(r"'[^']*'", "", re.sub(r'"\s*\+\s*"', "", m.group(1)))
        for p in re.findall(r"(?<![\w.-])([A-Za-z_][\w.-]*):[A-Za-z_]", expr):
            if p in known:
                found.setdefault(p, set()).add(known[p])
    return found


def add_xpath_imports(path, copies):
    """C: adds to the module at path an import for every XPath prefix of
    the copies that it lacks, under the same prefix."""
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    y = Yang(path, text)
    have = dict((p, m) for m, p in y.imports)
    have[y.prefix] = y.name
    need = {}
    for c in copies:
        for p, mods in xpath_imports(c).items():
            for m in mods:
                if have.get(p) == m:
                    continue
                if p in have or need.get(p, m) != m:
                    print(f"oc-prep: {y.name}: prefix {p} ({m}) is taken; not imported",
                          file=sys.stderr)
                    continue
                need[p] = m
    if need:
        at = y.last("import")
        add = "".join(f"\n  import {m} {{ prefix {p}; }}" for p, m in sorted(need.items()))
        text = (text[:at] + "\n  // oc-prep.py: modules that XPath of instantiated groupings uses"
                + add + text[at:])
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text)
    return sorted(need.values())


def main(argv):
    if len(argv) != 4:
        sys.exit(__doc__)
    src, out, root = argv[1:]
    index = load(src)
    os.makedirs(out, exist_ok=True)
    written = []
    for name in sorted(closure(index, root)):
        y = index[name]
        if y.kind == "submodule":
            continue
        text, notes = merge_submodules(y, index)
        if name == root:
            text, done = inline_root_uses(y.path, text)
            notes += [f"inlined top-level uses {g}" for g in done]
        head = f"// {os.path.relpath(y.path, src)} (openconfig/public v5.9.0)\n"
        head += "".join(f"// oc-prep.py: {n}\n" for n in notes)
        p = os.path.join(out, name + ".yang")
        with open(p, "w", encoding="utf-8") as fh:
            fh.write(head + text)
        written.append(p)
        if notes:
            print(f"{name}: {notes[0]}{' (+%d more)' % (len(notes) - 1) if len(notes) > 1 else ''}")
    copies = []
    for p in written:
        with open(p, encoding="utf-8") as fh:
            copies.append(Yang(p, fh.read()))
    added = add_xpath_imports(os.path.join(out, root + ".yang"), copies)
    if added:
        print(f"{root}: imports added for XPath: {', '.join(added)}")
    print(f"{len(written)} modules written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
