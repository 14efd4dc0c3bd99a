#!/usr/bin/env python3
"""Generates the lure set: samples/lure/phish/ and samples/lure/ham/.

Run from the repository root: python3 samples/make_lure.py
Every message is written by us for 例市 (city.example.lg.jp), the organization
in samples/lure/policy.toml. Lures are targeted attacks of the shapes that
reach public bodies; the legitimate mail has the same shapes (meeting
materials, invoices, PPAP pairs, replies, newsletters, bounces). Messages
carrying anything dangerous are written as <name>.eml.in.zip, never raw.
`mugai eval` reads both directories (samples/lure/README.md).
"""
import hashlib, os, struct, zlib

from mailgen import EOL, ROOT, attachment, b64, load, mime_word, multipart, text_part, write, zip_of

TRUSTED = "mx.city.example.lg.jp"
ME = "t-yamada@city.example.lg.jp"
SENT = []  # Message-IDs our side sent, for samples/lure/sent-message-ids


def sent_id(n):
    mid = f"<{n}@city.example.lg.jp>"
    SENT.append(mid)
    return mid


def ar(spf=None, dkim=None, dmarc=None, header_from=None, policy=None):
    """An Authentication-Results field of our own MX."""
    parts = [TRUSTED]
    if spf:
        parts.append(f"spf={spf} smtp.mailfrom={header_from}")
    if dkim:
        result, d = dkim
        parts.append(f"dkim={result} header.d={d}")
    if dmarc:
        p = f" (p={policy} dis=none)" if policy else ""
        parts.append(f"dmarc={dmarc}{p} header.from={header_from}")
    return "; ".join(parts)


def addr(name, address, charset="iso-2022-jp"):
    if not name:
        return address
    if name.isascii():
        return f'"{name}" <{address}>'
    return f"{mime_word(name, charset)} <{address}>"


def message(name, frm, subject, body, *, to=ME, html=False, files=(), reply_to=None,
            return_path=None, auth=None, in_reply_to=None, references=None, charset="iso-2022-jp",
            extra=()):
    """One message as bytes. `frm` is (display name, address); `files` are
    (name, bytes, content type)."""
    mid = "<" + hashlib.sha256(name.encode()).hexdigest()[:16] + "@" + frm[1].split("@")[1] + ">"
    subj = subject if subject.isascii() else mime_word(subject, charset)
    head = []
    rp = return_path if return_path is not None else frm[1]
    head.append(f"Return-Path: <{rp}>")
    head.append(f"Received: from out.example.net (out.example.net [192.0.2.10]) by {TRUSTED} with ESMTPS; Mon, 16 Nov 2026 09:29:58 +0900")
    if auth:
        head.append(f"Authentication-Results: {auth}")
    head += [f"From: {addr(*frm, charset=charset)}", f"To: {to}", f"Subject: {subj}",
             "Date: Mon, 16 Nov 2026 09:30:00 +0900", f"Message-ID: {mid}"]
    if reply_to:
        head.append(f"Reply-To: {reply_to}")
    if in_reply_to:
        head.append(f"In-Reply-To: {in_reply_to}")
    if references:
        head.append(f"References: {references}")
    head += list(extra)
    head.append("MIME-Version: 1.0")
    text = EOL.join(head) + EOL
    if html:
        part = (f"Content-Type: text/html; charset=\"utf-8\"{EOL}"
                f"Content-Transfer-Encoding: base64{EOL}{EOL}").encode() + b64(body.encode()).encode()
    else:
        part = text_part(body, charset, "7bit" if charset == "iso-2022-jp" else "base64")
    if not files:
        return text.encode() + part
    parts = [part] + [attachment(n, data, ctype) for n, data, ctype in files]
    return multipart(text, parts)


def zipcrypto(name, data, password):
    """A zip with one member under traditional PKWARE encryption (ZipCrypto),
    what Japanese mail clients still produce for PPAP."""
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0xEDB88320 if c & 1 else c >> 1
        table.append(c)
    keys = [0x12345678, 0x23456789, 0x34567890]

    def crc(c, b):
        return (c >> 8) ^ table[(c ^ b) & 0xFF]

    def update(b):
        keys[0] = crc(keys[0], b)
        keys[1] = ((keys[1] + (keys[0] & 0xFF)) * 134775813 + 1) & 0xFFFFFFFF
        keys[2] = crc(keys[2], keys[1] >> 24)

    def stream():
        t = (keys[2] | 2) & 0xFFFF
        return ((t * (t ^ 1)) >> 8) & 0xFF

    for b in password.encode():
        update(b)
    checksum = zlib.crc32(data)
    header = bytes(hashlib.sha256(name.encode()).digest()[:11]) + bytes([checksum >> 24])
    out = bytearray()
    for b in header + data:
        out.append(b ^ stream())
        update(b)
    fname = name.encode("utf-8")
    flags = 0x0001 | 0x0800  # encrypted, UTF-8 name
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, flags, 0, 0, 0x5B21, checksum,
                        len(out), len(data), len(fname), 0) + fname + bytes(out)
    central = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, flags, 0, 0, 0x5B21,
                          checksum, len(out), len(data), len(fname), 0, 0, 0, 0, 0, 0) + fname
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(central), len(local), 0)
    return local + central + end


PDF = ("pdf", load("gen_pdf_clean.pdf"), "application/pdf")
DOCX = load("tk_testWORD.docx")
XLSX = load("tk_testEXCEL.xlsx")
DOCM = load("gen_docm_autoopen_shell.docm", "office")
XLSM = load("gen_xlsm_workbook_open_powershell.xlsm", "office")
REMOTE_TEMPLATE = load("gen_docx_remote_template.docx", "office")
DDE_DOCX = load("gen_docx_dde_fldsimple.docx", "office")
LNK = load("Invoice.pdf.lnk")
ISO = load("gen_iso_pe.iso")
ONE = load("tk_testOneNote.one")
SMUGGLE = load("gen_html_smuggling_zip.html")
PE = load("tk_testTinyPE.exe")
CT_DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
CT_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CT_DOCM = "application/vnd.ms-word.document.macroEnabled.12"
CT_XLSM = "application/vnd.ms-excel.sheet.macroEnabled.12"


def pdf(name):
    return (name, PDF[1], PDF[2])


def enc_zip(name, inner, data, password="Kx7p2Q"):
    return (name, zipcrypto(inner, data, password), "application/zip")


SIG = "\n--\n"
PARTNER = "example-partner.co.jp"
PREF = "pref.example.lg.jp"


def html_link(text, href, before="", after=""):
    return (f"<html><body><p>{before}</p><p><a href=\"{href}\">{text}</a></p>"
            f"<p>{after}</p></body></html>")


# --- Lures -------------------------------------------------------------------

P = []


def phish(name, *args, dangerous=False, **kw):
    P.append((name, message(name, *args, **kw), dangerous))


phish("p01_colleague_gmail_meeting_docm", ("山田 太郎", "yamada.taro.city@gmail.com"),
      "先日の会議の資料です", "お疲れ様です。山田です。\n先日の会議の資料をお送りします。\nご確認ください。\n",
      files=[("会議資料.docm", DOCM, CT_DOCM)], dangerous=True)
phish("p02_colleague_lookalike_xlsm", ("佐藤 花子", "h-sato@city-example.jp"),
      "会議資料の送付", "佐藤です。\n会議資料を添付しますので、マクロを有効にしてご覧ください。\n",
      files=[("集計表.xlsm", XLSM, CT_XLSM)], dangerous=True)
phish("p03_colleague_romaji_link_lookalike", ("Taro Yamada", "t.yamada.example@outlook.jp"),
      "Meeting materials from yesterday",
      html_link("Open the meeting materials", "http://city-example-lg-jp.com/share/login",
                "Hi, here are the meeting materials we discussed.", "Taro"), html=True)
phish("p04_soumu_urgent_ppap_same_mail", ("鈴木 一郎（総務課）", "soumu.city.example@yahoo.co.jp"),
      "【至急】打ち合わせ資料のご確認",
      "総務課の鈴木です。\n打ち合わせ資料を送付します。\n解凍パスワード：Kx7p2Q\n至急ご確認ください。\n",
      files=[enc_zip("資料.zip", "資料.docx", DOCX)])
phish("p05_org_name_confusable_domain_docm", ("例市 総務課", "info@city.examp1e.lg.jp"),
      "議事録の送付", "各位\n\n先日の議事録を送付いたします。\n",
      files=[("議事録.docm", DOCM, CT_DOCM)], dangerous=True)
phish("p06_own_domain_spoof_dmarc_reject", ("田中 美咲", "m-tanaka@city.example.lg.jp"),
      "会議資料（修正版）", "田中です。\n修正版の会議資料です。\n",
      auth=ar("fail", None, "fail", "city.example.lg.jp", "reject"),
      return_path="bounce@mailer.example.net", files=[("会議資料.xlsm", XLSM, CT_XLSM)], dangerous=True)
phish("p07_display_name_address", ("t-yamada@city.example.lg.jp", "mailer@secure-docs.example.net"),
      "資料を送付します", "資料を送付します。ご確認ください。\n", files=[pdf("資料.pdf")])
phish("p08_own_domain_replyto_freemail_bec", ("高橋 健", "k-takahashi@city.example.lg.jp"),
      "至急対応のお願い", "高橋です。\n至急お願いしたい件があります。このメールに返信してください。\n",
      reply_to="k.takahashi.city@gmail.com", return_path="k.takahashi.city@gmail.com")
phish("p09_helpdesk_mailbox_full", ("Example City IT Helpdesk", "helpdesk@examplecity-support.com"),
      "Your mailbox is full",
      html_link("https://city.example.lg.jp/webmail", "http://examplecity-support.com/owa/login",
                "Your mailbox is full. Sign in to keep receiving mail:"), html=True)
phish("p10_password_expiry_lookalike", ("情報政策課", "security@city.example-lg.jp"),
      "パスワードの有効期限のお知らせ",
      html_link("こちらから変更してください", "https://city.example-lg.jp/password/reset",
                "パスワードの有効期限が近づいています。"), html=True)
phish("p11_partner_tld_swap_bank_change", ("株式会社例パートナー 経理部", "keiri@example-partner.co"),
      "振込先口座変更のお知らせ",
      "いつもお世話になっております。\n弊社の振込口座が変更となりました。\n今後のお支払いは下記口座へお願いします。\n")
phish("p12_partner_rn_m_invoice_docm", ("例パートナー 営業部", "sales@exarnple-partner.co.jp"),
      "請求書の件", "請求書を送付します。内容をご確認ください。\n",
      files=[("請求書.docm", DOCM, CT_DOCM)], dangerous=True)
phish("p13_emotet_thread_hijack", ("田中 一郎 tanaka@example-partner.co.jp", "tanaka.ichiro@misc-hosting.example.com"),
      "Re: 見積書の件", "お世話になっております。\n見積書を添付します。\nパスワード: Kx7p2Q\n\n> 見積書をお願いします。\n",
      in_reply_to="<20261101093000.5123@city.example.lg.jp>",
      references="<20261101093000.5123@city.example.lg.jp>",
      files=[enc_zip("見積書.zip", "見積書.xlsx", XLSX)])
phish("p14_stolen_thread_lookalike_partner", ("例パートナー 田中", "tanaka@example-partner.jp"),
      "Re: 発注書の件", "お世話になっております。\n修正した発注書を添付いたします。\n",
      in_reply_to=sent_id("20261105.8812.mail"), references=SENT[-1],
      files=[("発注書.docm", DOCM, CT_DOCM)], dangerous=True)
phish("p15_re_without_thread_ppap_same_mail", ("Kenji Mori", "k.mori.office@gmail.com"),
      "Re: お打ち合わせの件", "先日の打ち合わせ資料です。\nパスワードは以下の通りです。\nKx7p2Q\n",
      files=[enc_zip("打合せ資料.zip", "打合せ資料.docx", DOCX)])
phish("p16_re_invoice_ip_link", ("Accounting", "accounting.dept.jp@yahoo.com"),
      "RE: ご請求書", "ご請求書は下記からダウンロードしてください。\nhttp://203.0.113.7/invoice/download.php?id=2026\n",
      charset="utf-8")
phish("p17_reply_remote_template", ("Hiroshi Abe", "h.abe@consult-example.net"),
      "返信: 会議日程", "会議の日程と資料です。\n", files=[("会議日程.docx", REMOTE_TEMPLATE, CT_DOCX)],
      dangerous=True)
phish("p18_parcel_redelivery_link", ("宅配便センター", "info@kuroneko-delivery.example.com"),
      "お荷物お届けのお知らせ（不在通知）",
      html_link("https://www.kuronekoyamato.co.jp/redelivery", "http://kuroneko-delivery.example.com/track",
                "お荷物をお届けに参りましたが、ご不在のため持ち帰りました。",
                "本日中に再配達のお手続きをお願いします。"), html=True)
phish("p19_shipping_lnk_attachment", ("DHL Express", "noreply@dhl-shipment-notice.example"),
      "Shipment on hold: action required", "Your shipment is on hold. See the attached invoice.\n",
      charset="utf-8", files=[("DHL_Invoice.pdf.lnk", LNK, "application/octet-stream")], dangerous=True)
phish("p20_mailbox_quota_userinfo_link", ("Microsoft 365", "no-reply@rnicrosoft-365.example"),
      "メールボックスの容量が上限に達しました",
      html_link("https://login.microsoftonline.com/", "https://login.microsoftonline.com@203.0.113.9/owa",
                "メールボックスの容量が上限に達しました。"), html=True)
phish("p21_account_suspended_data_url", ("アカウント管理", "account@secure-check.example.org"),
      "アカウントが停止されます",
      html_link("今すぐ確認する", "data:text/html;base64,PHNjcmlwdD5sb2NhdGlvbj0naHR0cDovL2V2aWwuZXhhbXBsZS8nPC9zY3JpcHQ+",
                "アカウントが停止されます。本人確認をお願いします。"), html=True)
phish("p22_invoice_html_smuggling", ("請求担当", "billing@invoice-center.example.com"),
      "【至急】請求書のご確認", "請求書を添付しました。至急ご確認ください。\n",
      files=[("請求書.html", SMUGGLE, "text/html")], dangerous=True)
phish("p23_invoice_iso_replyto_freemail", ("経理課", "keiri@supply-example.com"),
      "【請求書】11月分", "11月分の請求書を送付します。\n",
      reply_to="supply.keiri@gmail.com", files=[("請求書_2026年11月.iso", ISO, "application/octet-stream")],
      dangerous=True)
phish("p24_onenote_lookalike_partner", ("例パートナー 佐々木", "sasaki@example-partners.co.jp"),
      "会議メモの共有", "会議メモを共有します。\n", files=[("会議メモ.one", ONE, "application/onenote")],
      dangerous=True)
phish("p25_tax_refund_link_mismatch", ("国税庁", "info@nta-go-jp.example.com"),
      "還付金のお知らせ",
      html_link("https://www.nta.go.jp/refund", "http://nta-go-jp.example.com/refund",
                "還付金があります。", "本日中にお手続きください。"), html=True)
phish("p26_mynapoint_ip_link", ("マイナポイント事務局", "info@mynapoint-jp.example.net"),
      "マイナポイントの付与について",
      html_link("https://mynumbercard.point.soumu.go.jp/", "http://198.51.100.23/point",
                "マイナポイントの申請期限が迫っています。"), html=True)
phish("p27_ppap1_lookalike_partner", ("例パートナー 営業部", "eigyo@example-partner.co"),
      "見積書の送付", "見積書を送付します。\nパスワードは別途お送りします。\n",
      files=[enc_zip("見積書.zip", "見積書.xlsx", XLSX)])
phish("p28_ppap2_lookalike_partner", ("例パートナー 営業部", "eigyo@example-partner.co"),
      "【パスワード】見積書.zip", "先ほどお送りした見積書のパスワードをお知らせします。\nパスワード：Kx7p2Q\n")
phish("p29_internal_name_ppap_same_mail", ("鈴木 一郎", "i.suzuki.home@gmail.com"),
      "請求書の確認", "請求書です。\nzip password: Kx7p2Q\n",
      files=[enc_zip("請求書.zip", "請求書.xlsx", XLSX)])
phish("p30_forward_no_thread_docm", ("山田太郎", "yamada.t.office@gmail.com"),
      "Fw: 会議資料", "転送します。\n\n---------- Forwarded message ----------\n会議資料です。\n",
      files=[("会議資料.docm", DOCM, CT_DOCM)], dangerous=True)
phish("p31_kana_display_name", ("やまだ たろう", "yamada@mail-city-example.com"),
      "資料を送付します", "資料を送付します。よろしくお願いします。\n", files=[("資料.docx", DOCX, CT_DOCX)])
phish("p32_romaji_reversed_embedded_domain", ("YAMADA Taro", "t-yamada@city.example.lg.jp.mail-secure.net"),
      "Minutes of the meeting", "Please find the minutes of the meeting attached.\n", charset="utf-8",
      files=[pdf("minutes.pdf")])
phish("p33_fullwidth_invoice_org_name_xlsm", ("例市 経理課", "keiri.example.city@gmail.com"),
      "ＩＮＶＯＩＣＥ 請 求 書", "請 求 書を添付します。\n", files=[("請求書.xlsm", XLSM, CT_XLSM)],
      charset="utf-8", dangerous=True)
phish("p34_idn_homograph_colleague", ("田中 美咲", "m-tanaka@city.xn--xample-2of.lg.jp"),
      "会議資料", "会議資料をお送りします。\n", files=[pdf("会議資料.pdf")])
phish("p35_partner_spoof_dmarc_reject", ("株式会社例パートナー", f"keiri@{PARTNER}"),
      "振込先変更のお願い", "弊社の振込口座を変更いたしました。\n",
      auth=ar("fail", None, "fail", PARTNER, "reject"), return_path="keiri@bulk-sender.example.net")
phish("p36_partner_spoof_dmarc_none_replyto", ("株式会社例パートナー", f"keiri@{PARTNER}"),
      "お支払いについて", "お支払いの件でご連絡です。返信をお願いします。\n",
      auth=ar("softfail", None, "fail", PARTNER, "none"), reply_to="partner.keiri@outlook.com",
      return_path="x@bulk-sender.example.net")
phish("p37_mayor_bec_english", ("Mayor of Example City", "mayor.examplecity@outlook.com"),
      "Urgent wire transfer", "I need you to process a wire transfer today. Reply to me directly.\n",
      charset="utf-8", reply_to="mayor.office.ec@proton.me")
phish("p38_mayor_bec_lookalike", ("市長室", "mayor-office@city-example-lg.jp"),
      "至急：送金のお願い", "本日中に下記口座へ送金をお願いします。\n")
phish("p39_invoice_link_lookalike_partner", ("Keiri", "keiri.example@gmail.com"),
      "請求書のダウンロード",
      html_link("請求書はこちらからダウンロード", "https://example-partner-co-jp.example.com/invoice",
                "請求書をご確認ください。"), html=True)
phish("p40_dde_docx_partner_tld_swap", ("例パートナー", "order@example-partner.com"),
      "発注書", "発注書を送付します。\n", files=[("発注書.docx", DDE_DOCX, CT_DOCX)], dangerous=True)
phish("p41_re_minutes_double_extension", ("総務課 佐藤", "soumu.sato@yahoo.co.jp"),
      "Re: 議事録", "議事録です。\n",
      files=[("議事録.zip", zip_of([("議事録.pdf.exe", PE)]), "application/zip")], dangerous=True)
phish("p42_unknown_thread_ppap_same_mail", ("Office", "office.jp.notice@gmail.com"),
      "Re: ご依頼の件", "ご依頼の資料です。\nパスワードは以下のとおりです：Kx7p2Q\n",
      in_reply_to="<CAF3xK2m9@mail.gmail.com>", references="<CAF3xK2m9@mail.gmail.com>",
      files=[enc_zip("ご依頼の資料.zip", "資料.docx", DOCX)])

# --- Legitimate mail of the same shapes ---------------------------------------

H = []


def ham(name, *args, **kw):
    H.append((name, message(name, *args, **kw), False))


OURS_PASS = ar("pass", ("pass", "city.example.lg.jp"), "pass", "city.example.lg.jp")
PARTNER_PASS = ar("pass", ("pass", PARTNER), "pass", PARTNER)
PREF_PASS = ar("pass", ("pass", PREF), "pass", PREF)

ham("h01_colleague_meeting_docx_dkim", ("山田 太郎", ME), "先日の会議の資料です",
    "お疲れ様です。山田です。\n先日の会議の資料をお送りします。\n", to="h-sato@city.example.lg.jp",
    auth=OURS_PASS, files=[("会議資料.docx", DOCX, CT_DOCX)])
ham("h02_colleague_urgent_xlsx_dkim", ("佐藤 花子", "h-sato@city.example.lg.jp"), "【至急】集計表の確認",
    "佐藤です。\n至急、集計表をご確認ください。\n", auth=OURS_PASS, files=[("集計表.xlsx", XLSX, CT_XLSX)])
ham("h03_partner_invoice_pdf_dkim", ("株式会社例パートナー 経理部", f"keiri@{PARTNER}"), "請求書送付のご案内",
    "いつもお世話になっております。\n11月分の請求書を送付いたします。\n", auth=PARTNER_PASS, files=[pdf("請求書.pdf")])
ham("h04_partner_ppap1_no_dkim", ("株式会社例パートナー 経理部", f"keiri@{PARTNER}"), "請求書の送付",
    "請求書を送付します。\nパスワードは別途お送りします。\n", files=[enc_zip("請求書.zip", "請求書.pdf", PDF[1])])
ham("h05_partner_ppap2_no_dkim", ("株式会社例パートナー 経理部", f"keiri@{PARTNER}"), "【パスワード】請求書.zip",
    "先ほどお送りした請求書のパスワードをお知らせします。\nパスワード：Kx7p2Q\n")
ham("h06_partner_ppap1_dkim", ("例パートナー 営業部", f"eigyo@{PARTNER}"), "見積書の送付",
    "見積書を送付します。\nパスワードは別メールでお送りします。\n", auth=PARTNER_PASS,
    files=[enc_zip("見積書.zip", "見積書.xlsx", XLSX)])
ham("h07_partner_ppap2_dkim", ("例パートナー 営業部", f"eigyo@{PARTNER}"), "【パスワード】見積書.zip",
    "見積書のパスワードをお知らせします。\nパスワード：Kx7p2Q\n", auth=PARTNER_PASS)
ham("h08_partner_reply_known_thread_dkim", ("例パートナー 田中", f"tanaka@{PARTNER}"), "Re: 見積書の件",
    "お世話になっております。\n見積書を添付いたします。\n", auth=PARTNER_PASS,
    in_reply_to=sent_id("20261102.1001.mail"), references=SENT[-1], files=[pdf("見積書.pdf")])
ham("h09_partner_reply_known_thread_no_dkim", ("例パートナー 田中", f"tanaka@{PARTNER}"), "Re: 発注書の件",
    "承知いたしました。発注書を確認いたしました。\n", in_reply_to=sent_id("20261103.2002.mail"),
    references=SENT[-1])
ham("h10_prefecture_urgent_meeting_dmarc", ("例県 総務部", f"soumu@{PREF}"), "【至急】会議開催のご案内",
    "各市町村ご担当者様\n会議を開催しますのでご案内します。資料を添付します。\n", auth=PREF_PASS,
    files=[pdf("会議開催案内.pdf")])
ham("h11_vendor_newsletter_tracking", ("株式会社例ソフト", "news@example-soft.co.jp"), "例ソフト通信 11月号",
    html_link("https://www.example-soft.co.jp/news/2026-11", "https://click.esp-mailer.example.net/c/abc123",
              "今月の製品情報です。"), html=True, return_path="bounce-123@esp-mailer.example.net")
ham("h12_security_newsletter_english", ("Security Weekly", "newsletter@securityweekly.example.com"),
    "Security Weekly: patch now",
    html_link("https://securityweekly.example.com/issue/48", "https://t.mailer-esp.example.org/r/xyz",
              "This week's advisories. Action required: update your browsers."), html=True,
    return_path="bounces@mailer-esp.example.org")
ham("h13_bounce_iso2022jp", ("Mail Delivery System", "MAILER-DAEMON@mx.city.example.lg.jp"),
    "配信不能のお知らせ",
    "次の宛先へのメールを配信できませんでした。\n  unknown@partner-old.example.co.jp\n\n元の件名: 会議資料の送付\n",
    return_path="")
ham("h14_bounce_english_postfix", ("Mail Delivery System", "MAILER-DAEMON@mx.city.example.lg.jp"),
    "Undelivered Mail Returned to Sender",
    "This is the mail system at host mx.city.example.lg.jp.\n\nI'm sorry to have to inform you that your message could not\nbe delivered to one or more recipients.\n",
    charset="utf-8", return_path="")
ham("h15_citizen_urgent_inquiry_gmail", ("市民 太郎", "citizen.taro@gmail.com"), "至急確認をお願いします",
    "道路の街灯が消えています。至急確認をお願いします。\n")
ham("h16_citizen_photo_report", ("Hanako K", "hanako.k.2026@yahoo.co.jp"), "道路の陥没について",
    "〇〇町の道路が陥没しています。写真を添付します。\n", files=[("photo.pdf", PDF[1], "application/pdf")])
ham("h17_carrier_delivery_notice", ("宅配便のお知らせ", "info@delivery.example-carrier.co.jp"),
    "お荷物お届け予定のお知らせ",
    html_link("https://www.example-carrier.co.jp/track?no=1234", "https://www.example-carrier.co.jp/track?no=1234",
              "お荷物のお届け予定をお知らせします。"), html=True)
ham("h18_online_order_confirmation", ("例書店", "order@example-books.co.jp"), "ご注文の確認",
    "ご注文ありがとうございます。\n注文番号: 2026-1123\n", charset="utf-8")
ham("h19_partner_forward_dkim", ("例パートナー 営業部", f"eigyo@{PARTNER}"), "Fw: 会議資料",
    "ご参考までに転送いたします。\n", auth=PARTNER_PASS, files=[pdf("会議資料.pdf")])
ham("h20_partner_meeting_docx_no_dkim", ("例パートナー 佐々木", f"sasaki@{PARTNER}"), "打ち合わせ資料の送付",
    "来週の打ち合わせ資料を送付します。\n", files=[("打ち合わせ資料.docx", DOCX, CT_DOCX)])
ham("h21_association_mailing_list", ("例市町村協議会", "info@example-assoc.or.jp"), "[assoc-ml:0123] 研修会のご案内",
    "研修会のご案内です。\n", reply_to="assoc-ml@lists.example-assoc-ml.jp",
    return_path="assoc-ml-bounces@lists.example-assoc-ml.jp")
ham("h22_prefecture_minutes_iso2022jp", ("例県 企画課", f"kikaku@{PREF}"), "議事録送付",
    "先日の会議の議事録を送付します。\n", files=[("議事録.docx", DOCX, CT_DOCX)])
ham("h23_partner_quote_shift_jis", ("例パートナー", f"eigyo@{PARTNER}"), "見積書", "見積書をお送りします。\n",
    charset="shift_jis", files=[("見積書.xlsx", XLSX, CT_XLSX)])
ham("h24_english_vendor_invoice", ("Example Cloud Billing", "billing@example-cloud.com"), "Invoice #1234",
    "Your invoice is attached. Payment is due in 30 days.\n", charset="utf-8", files=[pdf("invoice-1234.pdf")])
ham("h25_university_minutes", ("Prof. Sato", "sato@lab.example-u.ac.jp"), "Meeting minutes",
    "Please find the meeting minutes attached.\n", charset="utf-8", files=[("minutes.docx", DOCX, CT_DOCX)])
ham("h26_external_reply_known_thread", ("Consultant Ito", "ito@consult-example.co.jp"), "Re: ご相談の件",
    "ご連絡ありがとうございます。承知しました。\n", in_reply_to=sent_id("20261104.3003.mail"),
    references=SENT[-1])
ham("h27_citizen_reply_known_thread", ("市民 花子", "hanako.citizen@gmail.com"), "Re: お問い合わせへの回答",
    "ご回答ありがとうございました。\n", in_reply_to=sent_id("20261106.4004.mail"), references=SENT[-1])
ham("h28_cc_thread_unknown", ("Partner Kato", "kato@another-firm.example.co.jp"), "Re: 会議日程の調整",
    "皆様\n来週火曜でお願いします。\n", in_reply_to="<a1b2c3@another-firm.example.co.jp>",
    references="<a1b2c3@another-firm.example.co.jp>")
ham("h29_calendar_invite", ("例パートナー 佐々木", f"sasaki@{PARTNER}"), "会議のご案内: 12月定例",
    "12月の定例会議のご案内です。\n", auth=PARTNER_PASS,
    files=[("invite.ics", b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n", "text/calendar")])
ham("h30_saas_password_changed", ("Example SaaS", "noreply@example-saas.com"), "パスワードの変更が完了しました",
    html_link("https://app.example-saas.com/settings", "https://app.example-saas.com/settings",
              "パスワードの変更が完了しました。お心当たりがない場合はご連絡ください。"), html=True)
ham("h31_esign_request", ("電子契約サービス", "noreply@esign.example-contract.jp"), "請求書の電子署名依頼",
    html_link("書類を確認する", "https://app.example-contract.jp/sign/abc",
              "株式会社例パートナーから請求書の署名依頼が届いています。"), html=True,
    return_path="bounce@mail.example-contract.jp")
ham("h32_association_newsletter_html", ("例市町村協議会", "news@example-assoc.or.jp"), "協議会だより 第48号",
    html_link("最新号を読む", "https://www.example-assoc.or.jp/news/48", "協議会だより第48号を発行しました。"),
    html=True)
ham("h33_colleague_display_name_ours", ("山田 太郎", ME), "Re: 予算資料",
    "了解です。資料を確認しました。\n", to="i-suzuki@city.example.lg.jp", auth=OURS_PASS,
    in_reply_to=sent_id("20261107.5005.mail"), references=SENT[-1])
ham("h34_partner_subdomain_delivery_note", ("例パートナー 物流部", f"butsuryu@mail.{PARTNER}"), "納品書送付",
    "納品書を送付いたします。\n", auth=ar("pass", ("pass", PARTNER), "pass", PARTNER), files=[pdf("納品書.pdf")])
ham("h35_citizen_application_ppap", ("申請者 山本", "yamamoto.apply@gmail.com"), "申請書類の提出",
    "申請書類を提出します。\nパスワードは別途お送りします。\n", files=[enc_zip("申請書類.zip", "申請書.pdf", PDF[1])])
ham("h36_retail_newsletter_urgent_sale", ("例ストア", "info@example-store.jp"), "本日中！年末セール",
    html_link("https://www.example-store.jp/sale", "https://click.example-esp.net/t/987",
              "年末セールは本日中です。お支払いはカードでも。"), html=True,
    return_path="bounce@example-esp.net")
ham("h37_prefecture_survey_xlsm_dkim", ("例県 統計課", f"toukei@{PREF}"), "調査票のご提出について",
    "調査票（マクロ付き）を送付します。期限までにご提出ください。\n", auth=PREF_PASS,
    files=[("調査票.xlsm", XLSM, CT_XLSM)])
ham("h38_vendor_maintenance_english", ("Example Cloud Status", "status@example-cloud.com"),
    "Scheduled maintenance on 2026-11-30", "We will perform scheduled maintenance.\n", charset="utf-8")
ham("h39_partner_password_mail_dkim_english", ("Example Partner Sales", f"sales@{PARTNER}"),
    "Password for the quotation", "The password for the attached quotation is: Kx7p2Q\n", charset="utf-8",
    auth=PARTNER_PASS)
ham("h40_bounce_with_original", ("Mail Delivery System", "MAILER-DAEMON@mx.example-partner.co.jp"),
    "Undeliverable: 会議資料の送付", "Delivery has failed to these recipients.\n  old-user@example-partner.co.jp\n",
    charset="utf-8", return_path="", files=[("original.pdf", PDF[1], "application/pdf")])
ham("h41_partner_invoice_english_dkim", ("Example Partner Accounting", f"accounting@{PARTNER}"),
    "Invoice and payment details", "Please find our invoice attached. Payment by bank transfer.\n",
    charset="utf-8", auth=PARTNER_PASS, files=[pdf("invoice.pdf")])
ham("h42_colleague_forward_newsletter", ("佐藤 花子", "h-sato@city.example.lg.jp"), "Fw: 研修のご案内",
    "ご参考まで。\n", auth=OURS_PASS)

for folder, items in (("lure/phish", P), ("lure/ham", H)):
    os.makedirs(os.path.join(ROOT, folder), exist_ok=True)
    for name, data, dangerous in items:
        write(folder, name + ".eml", data, dangerous)
with open(os.path.join(ROOT, "lure", "sent-message-ids"), "w") as f:
    f.write("# Message-IDs 例市 sent (what the relay's outbound listener remembers)\n")
    f.write("".join(m + "\n" for m in SENT))
print(f"{len(P)} lures, {len(H)} legitimate")
