"""Helpers shared by the sample generators (make_mail.py, make_lure.py)."""
import base64, io, os, zipfile
from email.header import Header

ROOT = os.path.dirname(os.path.abspath(__file__))
EOL = "\r\n"


def load(name, folder="files"):
    path = os.path.join(ROOT, folder, name)
    if os.path.exists(path):
        return open(path, "rb").read()
    with zipfile.ZipFile(path + ".in.zip") as z:
        return base64.b64decode(z.read(z.namelist()[0]))


def container(name, data):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        info = zipfile.ZipInfo(name + ".b64", date_time=(1980, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        text = base64.b64encode(data).decode()
        z.writestr(info, "\n".join(text[i:i + 76] for i in range(0, len(text), 76)) + "\n")
    return buf.getvalue()


def write(folder, name, data, dangerous=False):
    data = data.encode() if isinstance(data, str) else data
    out = os.path.join(ROOT, folder, name)
    for stale in (out, out + ".in.zip"):
        if os.path.exists(stale):
            os.remove(stale)
    if dangerous:
        open(out + ".in.zip", "wb").write(container(name, data))
    else:
        open(out, "wb").write(data)


def b64(data):
    text = base64.b64encode(data).decode()
    return EOL.join(text[i:i + 76] for i in range(0, len(text), 76))


def mime_word(text, charset="iso-2022-jp"):
    return Header(text, charset).encode()


def text_part(text, charset="iso-2022-jp", cte="7bit"):
    if cte == "quoted-printable":
        import quopri
        body = quopri.encodestring(text.encode(charset)).replace(b"\n", EOL.encode())
    else:
        body = text.replace("\n", EOL).encode(charset)
    if cte == "base64":
        body = b64(body).encode()
    return (f"Content-Type: text/plain; charset=\"{charset}\"{EOL}"
            f"Content-Transfer-Encoding: {cte}{EOL}{EOL}").encode() + body


def attachment(name, data, ctype="application/octet-stream", style="2231"):
    if name.isascii() and "\u202e" not in name:
        disp = f'attachment; filename="{name}"'
        ct = f'{ctype}; name="{name}"'
    elif style == "2231":
        from urllib.parse import quote
        disp = f"attachment; filename*=UTF-8''{quote(name)}"
        ct = ctype
    else:  # the RFC 2047-in-a-parameter style Japanese clients use
        word = mime_word(name)
        disp = f'attachment; filename="{word}"'
        ct = f'{ctype}; name="{word}"'
    return (f"Content-Type: {ct}{EOL}Content-Disposition: {disp}{EOL}"
            f"Content-Transfer-Encoding: base64{EOL}{EOL}{b64(data)}").encode()


def multipart(head, parts, subtype="mixed", boundary="----=_Part_mugai_0001"):
    out = (head + f"Content-Type: multipart/{subtype}; boundary=\"{boundary}\"{EOL}{EOL}").encode()
    for p in parts:
        out += f"--{boundary}{EOL}".encode() + p + EOL.encode()
    return out + f"--{boundary}--{EOL}".encode()


def zip_of(entries, method=zipfile.ZIP_DEFLATED):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        for name, data in entries:
            z.writestr(zipfile.ZipInfo(name, date_time=(2026, 11, 1, 0, 0, 0)), data, compress_type=method)
    return buf.getvalue()
