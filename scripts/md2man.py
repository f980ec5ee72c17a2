#!/usr/bin/env python3
"""Turns one of docs/PROGRAM.md (first line "# NAME(SECTION)") into a man page (roff).

Handles what the docs use: ## and ### headings, paragraphs, "- " lists, ``` blocks,
tables (kept as preformatted text), `code`, **bold** and [text](link).
Usage: md2man.py DOC.md VERSION > NAME.SECTION
"""
import re
import sys


def esc(text):
    text = text.replace("\\", "\\e")
    return text


def inline(text):
    text = esc(text)
    text = re.sub(r"\[([^\]]*)\]\(([^)]*)\)", r"\1 (\2)", text)
    text = re.sub(r"`([^`]*)`", r"\\fB\1\\fR", text)
    text = re.sub(r"\*\*([^*]*)\*\*", r"\\fB\1\\fR", text)
    text = text.replace("-", "\\-")
    return text


def line_safe(text):
    return "\\&" + text if text[:1] in (".", "'") else text


def main():
    if len(sys.argv) != 3:
        sys.stderr.write("usage: md2man.py DOC.md VERSION\n")
        return 2
    path, version = sys.argv[1], sys.argv[2]
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    m = re.match(r"#\s+([A-Za-z0-9_.-]+)\((\d)\)\s*$", lines[0] if lines else "")
    if not m:
        sys.stderr.write(f"md2man.py: {path}:1: the title is not \"# NAME(SECTION)\"\n")
        return 1
    name, section = m.group(1), m.group(2)
    out = [f'.TH "{name.upper()}" "{section}" "" "http_energy {version}" "http_energy"']
    out += [".SH NAME", f"{name} \\- part of http_energy (energy per HTTP request, process "
            "and cgroup)"]
    in_code = False
    for raw in lines[1:]:
        if raw.startswith("```"):
            out.append(".fi" if in_code else ".nf")
            in_code = not in_code
            continue
        if in_code:
            out.append(line_safe(esc(raw)))
        elif raw.startswith("### "):
            out.append(".SS " + inline(raw[4:]))
        elif raw.startswith("## "):
            out.append(".SH " + inline(raw[3:]).upper())
        elif raw.startswith("|"):
            if re.match(r"^\|[-| :]*\|$", raw):
                continue
            cells = [inline(c.strip()) for c in raw.strip("|").split("|")]
            out.append(".nf")
            out.append(line_safe("  " + " | ".join(cells)))
            out.append(".fi")
        elif re.match(r"^\s*- ", raw):
            out.append(".IP \\(bu 2")
            out.append(line_safe(inline(raw.split("- ", 1)[1])))
        elif not raw.strip():
            out.append(".PP")
        else:
            out.append(line_safe(inline(raw.strip())))
    if in_code:
        out.append(".fi")
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
