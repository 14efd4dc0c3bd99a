#!/usr/bin/env bash
# Builds fuzz/corpus/<target>/ from samples/ (containers decoded by `mugai sample decode`).
set -euo pipefail
cd "$(dirname "$0")"
MUGAI=${MUGAI:-../target/release/mugai}
D=corpus/.decoded
rm -rf "$D" && mkdir -p "$D"
find ../samples -type f ! -name '*.expected.json' ! -name '*.md' ! -name '*.py' ! -name '*.failed' -print0 \
  | xargs -0 "$MUGAI" sample decode --out "$D"
shopt -s nullglob nocaseglob
seed() {
  local target=$1; shift
  mkdir -p "corpus/$target"
  for f in "$@"; do cp "$f" "corpus/$target/"; done
}
seed engine "$D"/*.eml "$D"/*.mbox
seed lure "$D"/p[0-9][0-9]_*.eml "$D"/h[0-9][0-9]_*.eml "$D"/ja_*.eml
seed mime "$D"/*.eml "$D"/*.mbox
seed transfer "$D"/*.eml
seed identify "$D"/*
seed inspect "$D"/*
# Text parts: the decoded mails carry CSV, SYLK, shortcuts and uuencoded
# bodies; the target's name before a NUL byte picks how the text is read.
seed text "$D"/*.eml "$D"/*.csv "$D"/*.txt "$D"/*.slk "$D"/*.iqy
printf 'a.csv\0=cmd|'"'"'/c calc'"'"'!A0\r\n' > corpus/text/dde.csv
printf 'a.url\0[InternetShortcut]\r\nURL=file://host/share/x.exe\r\n' > corpus/text/shortcut.url
seed zip "$D"/*.zip "$D"/*.docx "$D"/*.docm "$D"/*.xlsx "$D"/*.xlsm "$D"/*.pptx "$D"/*.pptm "$D"/*.odt "$D"/*.jar
seed tar "$D"/*.tar
for f in "$D"/*.tar.gz "$D"/*.tgz; do gunzip -c "$f" > "corpus/tar/$(basename "$f").tar" || true; done
seed sevenz "$D"/*.7z
seed iso "$D"/*.iso
mkdir -p corpus/compressed
# The target's first byte picks the decoder: 0 gzip, 1 bzip2, 2 xz, 3 zstd.
for f in "$D"/*.gz; do { printf '\x00'; cat "$f"; } > "corpus/compressed/$(basename "$f")"; done
for f in "$D"/*.zst; do { printf '\x03'; cat "$f"; } > "corpus/compressed/$(basename "$f")"; done
# Mail carries these as attachments, which `sample decode` leaves inside the
# message: one small stored LZH and one zstd frame to start from.
printf '\x03\x28\xb5\x2f\xfd\x04\x58\x6d\x00\x00\x38\x68\x65\x6c\x6c\x6f\x20\x0a\x01\x00\x31\x4a\x11\xa3\xaa\x74\xce' > corpus/compressed/hello.zst
mkdir -p corpus/lzh
printf '\x1b\x82\x2d\x6c\x68\x30\x2d\x05\x00\x00\x00\x05\x00\x00\x00\x00\x00\x00\x00\x20\x00\x05\x61\x2e\x74\x78\x74\xd2\x34\x68\x65\x6c\x6c\x6f\x00' > corpus/lzh/hello.lzh
# TNEF streams from the samples that carry one.
mkdir -p corpus/tnef
python3 - "$D" corpus/tnef <<'PY'
import email, pathlib, sys
for f in pathlib.Path(sys.argv[1]).glob("*tnef*.eml"):
    try:
        parts = list(email.message_from_bytes(f.read_bytes()).walk())
    except Exception:  # a hostile sample Python's parser cannot take
        continue
    for part in parts:
        if part.get_content_type() in ("application/ms-tnef", "application/vnd.ms-tnef"):
            data = part.get_payload(decode=True) or b""
            (pathlib.Path(sys.argv[2]) / (f.stem + ".tnef")).write_bytes(data)
PY
# Outlook messages and ARJ archives from the samples that carry one.
mkdir -p corpus/msg corpus/arj
python3 - "$D" corpus <<'PY'
import email, pathlib, sys
for kind, magic in (("msg", "D0CF11E0A1B11AE1"), ("arj", "60EA")):
    for f in pathlib.Path(sys.argv[1]).glob(f"*{kind}*.eml"):
        try:
            parts = list(email.message_from_bytes(f.read_bytes()).walk())
        except Exception:  # a hostile sample Python's parser cannot take
            continue
        for part in parts:
            data = part.get_payload(decode=True) or b""
            if data.startswith(bytes.fromhex(magic)):
                (pathlib.Path(sys.argv[2]) / kind / (f.stem + "." + kind)).write_bytes(data)
PY
seed ole "$D"/*.doc "$D"/*.xls "$D"/*.ppt "$D"/*.msi
seed pdf "$D"/*.pdf
seed disarm "$D"/*.docx "$D"/*.docm "$D"/*.dotm "$D"/*.xlsx "$D"/*.xlsm "$D"/*.xlsb "$D"/*.pptx "$D"/*.pptm "$D"/*.rtf "$D"/*.doc "$D"/*.xls "$D"/*.ppt "$D"/*.odt
seed html "$D"/*.html "$D"/*.hta
seed svg "$D"/*.svg
mkdir -p corpus/image
# The target's first byte picks the format: 0 png, 1 jpeg, 2 gif, 3 bmp, 4 tiff, 5 webp.
i=0
for ext in png jpg gif bmp tiff webp; do
  for f in "$D"/*."$ext"; do { printf "\\x0$i"; cat "$f"; } > "corpus/image/$(basename "$f")"; done
  i=$((i + 1))
done
seed policy ../rules/policy.toml
mkdir -p corpus/names
printf 'invoice.pdf.exe' > corpus/names/double
printf 'report.pdf      .exe' > corpus/names/padded
printf 'photo_\xe2\x80\xaegpj.exe' > corpus/names/rtlo
printf '\xe4\xbc\x9a\xe8\xad\xb0\xe8\xb3\x87\xe6\x96\x99.pdf' > corpus/names/japanese
# SMTP sessions: a control byte (chunking, answers), then a whole transaction.
mkdir -p corpus/smtp
for f in "$D"/ja_*.eml "$D"/ascii_minimal.eml; do
  { printf '\x05EHLO fuzz\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<u@example.lg.jp>\r\nDATA\r\n'
    sed -e 's/\r$//' -e 's/^\./../' -e 's/$/\r/' "$f"
    printf '.\r\nQUIT\r\n'; } > "corpus/smtp/$(basename "$f").smtp"
done
printf '\x01EHLO x\r\nSTARTTLS\r\nMAIL FROM:<a@b>\r\n' > corpus/smtp/starttls
printf '\x09EHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<v@example.lg.jp>\r\nDATA\r\nx\n.\nMAIL FROM:<e@x>\r\n' > corpus/smtp/bare_lf
rm -rf "$D"
for t in corpus/*/; do echo "$(basename "$t"): $(ls "$t" | wc -l) seeds"; done
