//! Delivery status notifications (RFC 3464), in Japanese and English.

use crate::Reply;
use crate::time::{now_ms, rfc5322};

/// A delivery status notification in Japanese and English.
pub(super) fn dsn(
    hostname: &str,
    sender: &str,
    failed: &[(String, Reply)],
    original: &[u8],
) -> Vec<u8> {
    let boundary = format!("mugai-dsn-{}", now_ms());
    let headers_end = memchr::memmem::find(original, b"\r\n\r\n").map_or(original.len(), |i| i + 2);
    let mut list = String::new();
    let mut status = String::new();
    for (rcpt, reply) in failed {
        list.push_str(&format!("  <{rcpt}>: {reply}\r\n"));
        let code = reply.enhanced.clone().unwrap_or_else(|| "5.0.0".into());
        status.push_str(&format!(
            "\r\nFinal-Recipient: rfc822; {rcpt}\r\nAction: failed\r\nStatus: {code}\r\nDiagnostic-Code: smtp; {reply}\r\n"
        ));
    }
    let mut out = format!(
        "From: MAILER-DAEMON@{hostname}\r\nTo: <{sender}>\r\nSubject: =?UTF-8?B?{subject}?=\r\n\
Date: {date}\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/report; report-type=delivery-status; boundary=\"{boundary}\"\r\n\r\n\
--{boundary}\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\
次の宛先へのメールを配送できませんでした。\r\nYour message could not be delivered to:\r\n\r\n{list}\r\n\
--{boundary}\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; {hostname}\r\n{status}\r\n\
--{boundary}\r\nContent-Type: text/rfc822-headers\r\n\r\n",
        subject = base64_utf8("配送不能 / Undelivered Mail Returned to Sender"),
        date = rfc5322(now_ms()),
    )
    .into_bytes();
    out.extend_from_slice(&original[..headers_end]);
    out.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    out
}

fn base64_utf8(text: &str) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in text.as_bytes().chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(TABLE[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dsn_parses_and_names_the_failure() {
        let failed = [(
            "u@example.lg.jp".to_owned(),
            Reply::new(550, "5.1.1", "no such user"),
        )];
        let dsn = dsn(
            "mugai.test",
            "a@example.com",
            &failed,
            b"Subject: x\r\nMessage-ID: <m@x>\r\n\r\nbody\r\n",
        );
        let msg = mail_parser::MessageParser::default()
            .parse(&dsn)
            .expect("parses");
        assert_eq!(
            msg.subject(),
            Some("配送不能 / Undelivered Mail Returned to Sender")
        );
        let text = String::from_utf8_lossy(&dsn);
        assert!(
            text.contains("Status: 5.1.1") && text.contains("Message-ID: <m@x>"),
            "{text}"
        );
        assert!(!text.contains("body"), "headers only");
        assert_eq!(base64_utf8("ab"), "YWI=");
    }
}
