#!/usr/bin/env python3
"""Writes every ```cpp block of the README as a program, for the packaging test.

    readme_snippets.py README.md CONTEXTS OUT_DIR

A block with its own main() is written as it stands. Any other block is a
fragment: it is placed in a function after the declarations that
tests/consumer/snippet_contexts.cpp gives for it (keyed by the fragment's first
code line; lines before "// body" go at file scope, the rest into the function),
so that it compiles and links as a user's program would. A fragment
with no context is an error: add one. Prints the programs' names, one a line.
"""
import pathlib
import re
import sys


def blocks(readme):
    return re.findall(r"^```cpp\n(.*?)^```", readme, flags=re.S | re.M)


def contexts(text):
    """'// context: FIRST LINE' starts a context; its lines run to the next marker."""
    found, key = {}, None
    for line in text.splitlines():
        m = re.match(r"// context: (.*)$", line)
        if m:
            key = m.group(1).strip()
            found[key] = []
        elif key is not None:
            found[key].append(line)
    return {k: "\n".join(v) for k, v in found.items()}


def main():
    readme, ctx_file, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), pathlib.Path(sys.argv[3])
    out.mkdir(parents=True, exist_ok=True)
    ctx = contexts(ctx_file.read_text())
    names, missing = [], []
    for i, code in enumerate(blocks(readme.read_text())):
        name = f"snippet_{i:02d}"
        if re.search(r"\bint main\s*\(", code):
            program = code
        else:
            first = next(l.strip() for l in code.splitlines() if l.strip())
            if first not in ctx:
                missing.append(first)
                continue
            top, _, body = ctx[first].partition("// body")
            program = ("#include <ember/ember.h>\nusing namespace ember;\n"
                       f"// README fragment {i}, in the context snippet_contexts.cpp gives it.\n{top}\n"
                       f"int snippet(int argc, char** argv) {{\n  (void)argc; (void)argv;\n{body}\n{code}\n  return 0;\n}}\n"
                       "// Linked, not run: the fragments read files a test machine does not have.\n"
                       "int main(int argc, char** argv) { return argc > 1000 ? snippet(argc, argv) : 0; }\n")
        (out / f"{name}.cpp").write_text(program)
        names.append(name)
    if missing:
        sys.exit("readme_snippets: no context in snippet_contexts.cpp for the README fragment starting\n  "
                 + "\n  ".join(missing))
    if not names:
        sys.exit("readme_snippets: no ```cpp block in " + str(readme))
    print("\n".join(names))


main()
