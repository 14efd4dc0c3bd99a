#!/usr/bin/env python3
"""Generates samples/mail/*.eml and samples/hostile/*.eml.

Run from the repository root: python3 samples/make_mail.py
Attachments come from samples/files/ (decoded from their .in.zip containers).
Messages carrying anything dangerous are written as <name>.eml.in.zip, never raw.
Expected verdicts live beside each sample as <name>.expected.json (UPDATE_GOLDEN=1
cargo test writes them; review every change).
"""
import base64, gzip, hashlib, io, lzma, os, tarfile, zipfile

from mailgen import EOL, attachment, b64, container, load, mime_word, multipart, text_part, write, zip_of



def headers(subject, frm="Tanaka Taro <tanaka@example.lg.jp>", to="suzuki@city.example.lg.jp",
            charset="iso-2022-jp", extra=""):
    subj = mime_word(subject, charset) if not subject.isascii() else subject
    return (f"From: {frm}{EOL}To: {to}{EOL}Subject: {subj}{EOL}"
            f"Date: Mon, 16 Nov 2026 09:30:00 +0900{EOL}"
            f"Message-ID: <{hashlib.sha256(subject.encode()).hexdigest()[:12]}@example.lg.jp>{EOL}MIME-Version: 1.0{EOL}{extra}")


PE = load("tk_testTinyPE.exe")
PDF = load("gen_pdf_clean.pdf")
DOCX = load("tk_testWORD.docx")
XLSX = load("tk_testEXCEL.xlsx")
DOCM = load("poi_SimpleMacro.docm")
XLS_XLM = load("ot_excel4_sample_macro.xls")
ENC_ZIP = load("tk_testZipEncrypted.zip")
LNK = load("Invoice.pdf.lnk")
SMUGGLE = load("gen_html_smuggling_zip.html")
ISO = load("gen_iso_pe.iso")
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")

MEETING = "お世話になっております。\n先日の会議の資料です。ご確認ください。\n\n総務課 田中\n"
INVOICE = "いつもお世話になっております。\n請求書を送付します。ご確認のほどよろしくお願いいたします。\n"

# --- mail/: real shapes of Japanese business mail ---------------------------------
write("mail", "ja_iso2022jp_plain.eml",
      headers("先日の会議の資料です").encode() + text_part(MEETING))
write("mail", "ja_iso2022jp_clean_pdf.eml",
      multipart(headers("先日の会議の資料です"), [text_part(MEETING), attachment("会議資料.pdf", PDF, "application/pdf", "2047")]))
write("mail", "ja_sjis_8bit.eml",
      headers("請求書を送付します", charset="shift_jis").encode() + text_part(INVOICE, "shift_jis", "8bit"))
write("mail", "ja_eucjp_8bit.eml",
      headers("議事録の送付", charset="euc-jp").encode() + text_part("議事録を送付いたします。\n", "euc-jp", "8bit"))
write("mail", "ja_utf8_qp.eml",
      headers("ご案内", charset="utf-8").encode() + text_part("説明会のご案内です。\n" * 20, "utf-8", "quoted-printable"))
write("mail", "ja_utf8_alternative.eml",
      multipart(headers("ニュースレター 11月号", charset="utf-8"), [
          text_part("今月のお知らせです。\nhttps://www.example.lg.jp/news\n", "utf-8", "base64"),
          ("Content-Type: text/html; charset=utf-8" + EOL + "Content-Transfer-Encoding: base64" + EOL + EOL).encode()
          + b64("<html><body><p>今月のお知らせです。</p><a href=\"https://www.example.lg.jp/news\">詳細</a></body></html>".encode()).encode()],
          "alternative", "alt-boundary-42"))
write("mail", "ja_rfc2231_docx_xlsx.eml",
      multipart(headers("見積書と仕様書", charset="utf-8"), [text_part("添付をご確認ください。\n", "utf-8", "base64"),
                attachment("仕様書（第2版）.docx", DOCX, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
                attachment("見積書.xlsx", XLSX, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "2047")]))
related = (f"Content-Type: multipart/related; boundary=\"rel-b\"{EOL}{EOL}--rel-b{EOL}"
           f"Content-Type: text/html; charset=utf-8{EOL}{EOL}<p>see map <img src=\"cid:map@x\"></p>{EOL}--rel-b{EOL}"
           f"Content-Type: image/png{EOL}Content-ID: <map@x>{EOL}Content-Transfer-Encoding: base64{EOL}{EOL}"
           f"{b64(PNG)}{EOL}--rel-b--").encode()
write("mail", "related_inline_png.eml", multipart(headers("Map", charset="utf-8"), [related]))
write("mail", "forwarded_rfc822.eml",
      multipart(headers("Fw: 先日の会議の資料です"), [text_part("転送します。\n"),
                (f"Content-Type: message/rfc822{EOL}{EOL}").encode() + headers("先日の会議の資料です").encode() + text_part(MEETING)]))
write("mail", "forwarded_rfc822_base64.eml",
      multipart(headers("Fw: 議事録"), [text_part("転送します。\n"),
                (f"Content-Type: message/rfc822{EOL}Content-Transfer-Encoding: base64{EOL}{EOL}").encode()
                + b64(headers("議事録").encode() + text_part("議事録です。\n")).encode()]))
write("mail", "two_messages.mbox",
      ("From tanaka@example.lg.jp Mon Nov 16 09:30:00 2026\n" + "From: a@example.lg.jp\nSubject: one\n\nfirst\n\n"
       + "From tanaka@example.lg.jp Mon Nov 16 09:31:00 2026\n" + "From: b@example.lg.jp\nSubject: two\n\nsecond\n"))
write("mail", "bad_base64_text.eml",
      headers("broken", charset="utf-8") + f"Content-Type: text/plain; charset=utf-8{EOL}Content-Transfer-Encoding: base64{EOL}{EOL}"
      + "5Lya6K2w!!!44Gu6LOH5paZ\t44Gn44GZ==garbage" + EOL)
write("mail", "no_closing_boundary.eml",
      multipart(headers("truncated"), [text_part("本文です。\n"), attachment("a.pdf", PDF, "application/pdf")]).rsplit(b"--" + b"----=_Part_mugai_0001--", 1)[0])
write("mail", "boundary_never_used.eml",
      headers("no parts") + f"Content-Type: multipart/mixed; boundary=\"nowhere\"{EOL}{EOL}just text, no parts{EOL}")
write("mail", "preamble_epilogue.eml",
      (headers("preamble") + f"Content-Type: multipart/mixed; boundary=\"pe\"{EOL}{EOL}This is a preamble that some clients show.{EOL}"
       f"--pe{EOL}Content-Type: text/plain{EOL}{EOL}body{EOL}--pe--{EOL}Epilogue text that must not survive.{EOL}"))
write("mail", "forged_mugai_headers.eml",
      headers("forged", extra=f"X-Mugai-Verdict: clean; version=0.0.0{EOL}X-Mugai-Actions: none{EOL}").encode() + text_part("hello\n"))
write("mail", "ascii_minimal.eml", f"From: a@example.com{EOL}To: b@example.com{EOL}Subject: hi{EOL}{EOL}hello{EOL}")

# Dangerous shapes: stored as containers.
inner = zip_of([("setup.exe", PE), ("readme.txt", b"install me")])
outer = zip_of([("docs/inner.zip", inner), ("docs/notes.txt", "資料です".encode())])
write("mail", "exe_in_zip_in_zip.eml",
      multipart(headers("請求書を送付します"), [text_part(INVOICE), attachment("請求書.zip", outer, "application/zip")]), True)
write("mail", "forwarded_rfc822_with_exe.eml",
      multipart(headers("Fw: 請求書"), [text_part("転送します。\n"),
                (f"Content-Type: message/rfc822{EOL}{EOL}").encode()
                + multipart(headers("請求書"), [text_part(INVOICE), attachment("請求書.pdf.exe", PE)], boundary="inner-bnd")]), True)
write("mail", "ppap_encrypted_zip.eml",
      multipart(headers("【ファイル送付】資料", extra=""), [text_part("資料をお送りします。パスワードは別途お送りします。\n"),
                attachment("資料_20261116.zip", ENC_ZIP, "application/zip")]), True)
write("mail", "macro_docm_meeting.eml",
      multipart(headers("先日の会議の資料です"), [text_part(MEETING), attachment("会議資料.docm", DOCM, "application/vnd.ms-word.document.macroEnabled.12")]), True)
write("mail", "xlm_xls_invoice.eml",
      multipart(headers("請求書を送付します"), [text_part(INVOICE), attachment("請求書_11月.xls", XLS_XLM, "application/vnd.ms-excel", "2047")]), True)
write("mail", "lnk_double_ext.eml",
      multipart(headers("Invoice"), [text_part("see attached\n", "us-ascii"), attachment("Invoice.pdf.lnk", LNK)]), True)
write("mail", "padded_double_ext.eml",
      multipart(headers("report"), [text_part("report\n", "us-ascii"), attachment("report.pdf" + " " * 40 + ".exe", PE)]), True)
write("mail", "rtlo_attachment_name.eml",
      multipart(headers("写真"), [text_part("写真です。\n"), attachment("photo_\u202egpj.exe", PE)]), True)
write("mail", "html_smuggling_attachment.eml",
      multipart(headers("Secure message"), [text_part("Open the attached secure message.\n", "us-ascii"), attachment("message.html", SMUGGLE, "text/html")]), True)
write("mail", "iso_with_exe.eml",
      multipart(headers("Delivery"), [text_part("Your parcel.\n", "us-ascii"), attachment("parcel.iso", ISO, "application/octet-stream")]), True)
write("mail", "exe_declared_as_pdf.eml",
      multipart(headers("scan"), [text_part("scan\n", "us-ascii"), attachment("scan.pdf", PE, "application/pdf")]), True)
write("mail", "exe_body_mixed_clean.eml",
      multipart(headers("two attachments"), [text_part("二つ添付します。\n"), attachment("資料.pdf", PDF, "application/pdf"),
                attachment("tool.exe", PE)]), True)

# --- hostile/: inputs built to exhaust a parser ------------------------------------
def nested(depth):
    inner = f"Content-Type: text/plain{EOL}{EOL}deep{EOL}"
    for i in range(depth):
        inner = f"Content-Type: multipart/mixed; boundary=\"b{i}\"{EOL}{EOL}--b{i}{EOL}{inner}--b{i}--{EOL}"
    return headers("deep") + inner

write("hostile", "mime_nesting_1000.eml", nested(1000), True)
write("hostile", "mime_parts_5000.eml",
      multipart(headers("many"), [f"Content-Type: text/plain{EOL}{EOL}{i}".encode() for i in range(5000)]), True)
write("hostile", "mime_parts_100000.eml",
      multipart(headers("very many"), [f"Content-Type: text/plain{EOL}{EOL}{i}".encode() for i in range(100000)]), True)
write("hostile", "bad_quoted_printable.eml",
      headers("qp") + f"Content-Type: text/plain; charset=utf-8{EOL}Content-Transfer-Encoding: quoted-printable{EOL}{EOL}"
      + f"=E4=BC=9A=ZZ soft break with space = {EOL}stray = sign and =\r bare CR{EOL}=E8={EOL}")
# An OLE2 file whose directory chain loops back on itself (FAT cycle).
ole = bytearray(load("tk_testEXCEL.xls"))
sector = 1 << int.from_bytes(ole[0x1E:0x20], "little")
dir_start = int.from_bytes(ole[0x30:0x34], "little")
fat0 = int.from_bytes(ole[0x4C:0x50], "little")
at = (fat0 + 1) * sector + dir_start * 4
ole[at:at + 4] = dir_start.to_bytes(4, "little")
write("hostile", "ole_fat_cycle.eml",
      multipart(headers("cycle"), [text_part("xls\n", "us-ascii"), attachment("cycle.xls", bytes(ole), "application/vnd.ms-excel")]))
loop_pdf = (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
            b"2 0 obj << /Type /Pages /Kids [2 0 R] /Count 1 /Parent 2 0 R >> endobj\n"
            b"trailer << /Root 1 0 R /Prev 0 >>\nstartxref 0\n%%EOF\n")
write("hostile", "pdf_reference_loop.eml",
      multipart(headers("loop"), [text_part("pdf\n", "us-ascii"), attachment("loop.pdf", loop_pdf, "application/pdf")]))
write("hostile", "header_line_1mb.eml", headers("x" * (1 << 20)) + f"{EOL}body{EOL}", True)
write("hostile", "nul_and_invalid_utf8_headers.eml",
      b"From: a\x00b@example.com\r\nSubject: \xff\xfe\x00bad\r\nMIME-Version: 1.0\r\n"
      b"Content-Type: multipart/mixed; boundary=\"n\"\r\n\r\n--n\r\nContent-Type: application/octet-stream; name=\"a\x00\xffb.pdf\"\r\n"
      b"Content-Transfer-Encoding: base64\r\n\r\n" + b64(PDF).encode() + b"\r\n--n--\r\n")
write("hostile", "empty.eml", b"")
write("hostile", "unknown_charset.eml",
      headers("charset") + f"Content-Type: text/plain; charset=x-klingon{EOL}{EOL}qapla'{EOL}")
write("hostile", "truncated_zip.eml",
      multipart(headers("truncated zip"), [text_part("zip\n", "us-ascii"), attachment("a.zip", XLSX[: len(XLSX) // 2], "application/zip")]))
zeros = b"\0" * (300 << 20)
write("hostile", "gzip_ratio_bomb.eml",
      multipart(headers("logs"), [text_part("logs\n", "us-ascii"), attachment("logs.gz", gzip.compress(zeros, 9, mtime=0), "application/gzip")]), True)
write("hostile", "xz_ratio_bomb.eml",
      multipart(headers("archive"), [text_part("archive\n", "us-ascii"), attachment("dump.xz", lzma.compress(zeros, preset=9), "application/x-xz")]), True)
write("hostile", "zip_ratio_bomb.eml",
      multipart(headers("data"), [text_part("data\n", "us-ascii"), attachment("data.zip", zip_of([("zeros.bin", zeros)]), "application/zip")]), True)
level = zip_of([("leaf.txt", b"x" * 1000)])
for i in range(10):
    level = zip_of([(f"l{i}a.zip", level), (f"l{i}b.zip", level)])
write("hostile", "zip_nested_10_levels.eml",
      multipart(headers("nested"), [text_part("nested\n", "us-ascii"), attachment("nested.zip", level, "application/zip")]), True)
tbuf = io.BytesIO()
with tarfile.open(fileobj=tbuf, mode="w:gz", format=tarfile.USTAR_FORMAT) as t:
    for i in range(11000):
        info = tarfile.TarInfo(f"f{i}.txt")
        info.size = 1
        info.mtime = 0
        t.addfile(info, io.BytesIO(b"x"))
write("hostile", "tar_11000_entries.eml",
      multipart(headers("many files"), [text_part("files\n", "us-ascii"), attachment("files.tar.gz", tbuf.getvalue(), "application/gzip")]), True)
write("hostile", "droste_quine.eml",
      multipart(headers("droste"), [text_part("zip\n", "us-ascii"), attachment("droste.zip", load("tk_droste.zip"), "application/zip")]), True)

# 42.zip rebuilt: five layers of 16 zips over a 4 GiB member of zeros
# (16^5 leaves, 4 PiB in all, in about 32 KB).
leaf = io.BytesIO()
with zipfile.ZipFile(leaf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
    info = zipfile.ZipInfo("0.dat", date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    with z.open(info, "w", force_zip64=True) as f:
        for _ in range(256):
            f.write(bytes(1 << 24))
level = leaf.getvalue()
for depth in range(5):
    level = zip_of([(f"lib {depth} {i:x}.zip", level) for i in range(16)])
write("hostile", "zip_42_recursive.eml",
      multipart(headers("42"), [text_part("see attached\n", "us-ascii"), attachment("42.zip", level, "application/zip")]), True)
