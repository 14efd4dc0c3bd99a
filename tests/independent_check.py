#!/usr/bin/env python3
"""Checks files with tools mugai did not write: oletools' olevba (VBA and
XLM macros), msodde (DDE in Word, Excel and CSV) and rtfobj (RTF objects).

    python3 tests/independent_check.py DIR

Prints one JSON object: {"checked": N, "active": [[file, tool, what], ...]}.
A file a tool cannot open is not active for that tool (mugai's own
inspection and the corpus expectations cover what it removes).
"""
import json, logging, os, sys

logging.disable(logging.CRITICAL)

from oletools import msodde, rtfobj  # noqa: E402
from oletools.olevba import VBA_Parser  # noqa: E402

INERT = {entry[0] for entry in msodde.FIELD_BLACKLIST}


def check(path):
    found = []
    try:
        vba = VBA_Parser(path)
        try:
            # olevba reads any other file as VBA source text: only the
            # containers that can carry a project count.
            if vba.type == "Text":
                pass
            elif vba.detect_vba_macros():
                found.append(("olevba", "VBA macros"))
            if vba.type != "Text" and vba.detect_xlm_macros():
                found.append(("olevba", "XLM macros"))
        finally:
            vba.close()
    except Exception:
        pass
    try:
        dde = msodde.process_file(path)
        # msodde leaves its own list of inert fields (PAGE, DATE, ...) out of
        # Word files but not always out of RTF: leave them out everywhere.
        active = [line.strip() for line in (dde or "").splitlines()
                  if line.strip() and line.split()[0].upper() not in INERT]
        if active:
            found.append(("msodde", " / ".join(active)[:200]))
    except Exception:
        pass
    with open(path, "rb") as f:
        data = f.read()
    if data.lstrip()[:4] == b"{\\rt":
        try:
            parser = rtfobj.RtfObjParser(data)
            parser.parse()
            if parser.objects:
                found.append(("rtfobj", f"{len(parser.objects)} objects"))
        except Exception:
            pass
    return found


def main(root):
    checked, active = 0, []
    for dirpath, _, names in os.walk(root):
        for name in sorted(names):
            path = os.path.join(dirpath, name)
            checked += 1
            for tool, what in check(path):
                active.append([os.path.relpath(path, root), tool, what])
    print(json.dumps({"checked": checked, "active": active}))


if __name__ == "__main__":
    main(sys.argv[1])
