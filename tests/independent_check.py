#!/usr/bin/env python3
"""Checks files with tools mugai did not write: oletools' olevba (VBA and
XLM macros), msodde (DDE in Word, Excel and CSV), rtfobj (RTF objects) and
oleobj (OLE packages, external relationships, customUI), and pikepdf (PDF
actions, scripts, embedded files). Zip archives that are not documents are
opened and their members checked too, to any depth.

    python3 tests/independent_check.py DIR

Prints one JSON object: {"checked": N, "members": M, "active": [[file,
tool, what], ...]}. A file a tool cannot open is not active for that tool
(mugai's own inspection and the corpus expectations cover what it removes).
"""
import io, json, logging, os, sys, zipfile
from contextlib import redirect_stdout

logging.disable(logging.CRITICAL)

import pikepdf  # noqa: E402
from oletools import msodde, oleobj, rtfobj  # noqa: E402
from oletools.olevba import VBA_Parser  # noqa: E402

INERT = {entry[0] for entry in msodde.FIELD_BLACKLIST}

# What a PDF reader runs or opens by itself.
PDF_ACTIVE_KEYS = {"/JS", "/JavaScript", "/AA", "/EmbeddedFile", "/EmbeddedFiles",
                   "/RichMedia", "/XFA", "/Launch"}
PDF_ACTIVE_ACTIONS = {"/Launch", "/JavaScript", "/GoToR", "/GoToE", "/SubmitForm",
                      "/ImportData", "/Rendition", "/Sound", "/Movie"}
WEB = ("http://", "https://", "mailto:")


def check_oleobj(path, data):
    """OLE packages (an embedded file Office runs when clicked), external
    relationships other than web and mail hyperlinks, customUI callbacks."""
    found = []
    with redirect_stdout(io.StringIO()):
        xml = oleobj.XmlParser(path) if zipfile.is_zipfile(path) else None
        if xml is not None:
            for rel, target in oleobj.find_external_relationships(xml):
                if rel == "hyperlink" and target.lower().startswith(WEB):
                    continue
                found.append(("oleobj", f"external {rel}: {target}"[:200]))
            for target in oleobj.find_customUI(xml):
                found.append(("oleobj", f"customUI {target}"[:200]))
        for ole in oleobj.find_ole(path, data, xml):
            if ole is None:
                continue
            for parts in ole.listdir():
                if parts[-1].lower() == "\x01ole10native":
                    found.append(("oleobj", "OLE package " + "/".join(parts)))
    return found


def check_pdf(path):
    found = []
    with pikepdf.open(path) as pdf:
        for obj in pdf.objects:
            if not isinstance(obj, pikepdf.Dictionary):
                continue
            for key in obj.keys():
                if key in PDF_ACTIVE_KEYS:
                    found.append(("pikepdf", f"{key} in object {obj.objgen}"))
            kind = obj.get("/S")
            if kind is not None and str(kind) in PDF_ACTIVE_ACTIONS:
                found.append(("pikepdf", f"{kind} action in object {obj.objgen}"))
            uri = obj.get("/URI")
            if uri is not None and not str(uri).lower().startswith(WEB):
                found.append(("pikepdf", f"URI {str(uri)[:100]}"))
            opened = obj.get("/OpenAction")
            if isinstance(opened, pikepdf.Dictionary) and str(opened.get("/S")) != "/GoTo":
                found.append(("pikepdf", f"OpenAction {opened.get('/S')}"))
    return found


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
    try:
        found += check_oleobj(path, data)
    except Exception:
        pass
    if b"%PDF-" in data[:1024]:
        try:
            found += check_pdf(path)
        except pikepdf.PdfError:
            pass
    if data.lstrip()[:4] == b"{\\rt":
        try:
            parser = rtfobj.RtfObjParser(data)
            parser.parse()
            if parser.objects:
                found.append(("rtfobj", f"{len(parser.objects)} objects"))
        except Exception:
            pass
    return found


def is_plain_zip(path):
    """A zip archive, not an Office or OpenDocument package."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as z:
        names = set(z.namelist())
    return "[Content_Types].xml" not in names and "mimetype" not in names


def members(path, into):
    """Extracts the members of a plain zip into `into`: their paths."""
    out = []
    with zipfile.ZipFile(path) as z:
        for i, info in enumerate(z.infolist()):
            if info.is_dir():
                continue
            base = os.path.basename(info.filename) or "member"
            target = os.path.join(into, f"{i:03}-{base}")
            with open(target, "wb") as f:
                f.write(z.read(info))
            out.append(target)
    return out


def main(root):
    checked, inside, active = 0, 0, []
    pending = []
    for dirpath, _, names in os.walk(root):
        pending += [os.path.join(dirpath, n) for n in sorted(names)]
    checked = len(pending)
    while pending:
        path = pending.pop(0)
        for tool, what in check(path):
            active.append([os.path.relpath(path, root), tool, what])
        if is_plain_zip(path):
            into = path + ".members"
            os.mkdir(into)
            found = members(path, into)
            inside += len(found)
            pending += found
    print(json.dumps({"checked": checked, "members": inside, "active": active}))


if __name__ == "__main__":
    main(sys.argv[1])
