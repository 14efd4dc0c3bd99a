//! SMTP replies: a code, an enhanced status code and a line of text.

use std::fmt;

use mugai_core::{Outcome, Verdict};
use mugai_store::{EntryId, StoreError};

/// One SMTP reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The three-digit code.
    pub code: u16,
    /// The RFC 3463 enhanced status code (`5.7.1`), if any.
    pub enhanced: Option<String>,
    /// The text; several lines make a multi-line reply.
    pub lines: Vec<String>,
}

impl Reply {
    /// A reply with an enhanced code and one line of text.
    pub fn new(code: u16, enhanced: &str, text: impl Into<String>) -> Self {
        Self {
            code,
            enhanced: Some(enhanced.to_owned()),
            lines: vec![text.into()],
        }
    }

    /// A reply without an enhanced code (greeting, EHLO).
    pub fn plain(code: u16, lines: Vec<String>) -> Self {
        Self {
            code,
            enhanced: None,
            lines,
        }
    }

    /// 2xx.
    pub fn is_positive(&self) -> bool {
        (200..300).contains(&self.code)
    }

    /// 4xx: try again later.
    pub fn is_transient(&self) -> bool {
        (400..500).contains(&self.code)
    }

    /// 5xx: do not try again.
    pub fn is_permanent(&self) -> bool {
        self.code >= 500
    }

    /// `451 4.3.0`: nothing was done, the client keeps the message.
    pub fn tempfail(text: impl Into<String>) -> Self {
        Self::new(451, "4.3.0", text)
    }

    /// The reply as sent on the wire, CRLF-terminated. Text is stripped of
    /// CR and LF so a reason taken from a message cannot inject lines.
    pub fn to_wire(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        let count = self.lines.len().max(1);
        for i in 0..count {
            let text = self.lines.get(i).map(String::as_str).unwrap_or("");
            let sep = if i + 1 < count { '-' } else { ' ' };
            out.extend_from_slice(format!("{}{sep}", self.code).as_bytes());
            if let Some(e) = &self.enhanced {
                out.extend_from_slice(e.as_bytes());
                out.push(b' ');
            }
            out.extend(text.bytes().filter(|&b| b != b'\r' && b != b'\n'));
            out.extend_from_slice(b"\r\n");
        }
        out
    }
}

/// A store that could not keep a message: 452 when the disk is full, 451
/// otherwise. Either way the client still has it.
impl From<&StoreError> for Reply {
    fn from(e: &StoreError) -> Self {
        if e.is_disk_full() {
            Reply::new(452, "4.3.1", "insufficient system storage")
        } else {
            Reply::tempfail("cannot store the message, try again later")
        }
    }
}

/// What the sender hears of a verdict that delivers nothing: 250 for a
/// message held in the quarantine (as `quarantine`), 550 for a policy
/// reject, 451 when the engine could not decide. `None` for `Deliver`,
/// which is answered by whatever delivered it.
pub(crate) fn for_verdict(outcome: &Outcome, quarantine: Option<&EntryId>) -> Option<Reply> {
    Some(match outcome.verdict {
        Verdict::Deliver => return None,
        Verdict::Quarantine => {
            let id = quarantine.map(EntryId::to_string).unwrap_or_default();
            Reply::new(250, "2.0.0", format!("held in quarantine as {id}"))
        }
        Verdict::Reject => Reply::new(
            550,
            "5.7.1",
            format!(
                "rejected by policy: {}",
                outcome.report.reason.as_deref().unwrap_or("content")
            ),
        ),
        Verdict::Tempfail => Reply::tempfail("sanitization failed, try again later"),
    })
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code)?;
        if let Some(e) = &self.enhanced {
            write!(f, " {e}")?;
        }
        write!(f, " {}", self.lines.join(" / "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_form() {
        let r = Reply::new(550, "5.7.1", "no\r\nRCPT TO:<x>");
        assert_eq!(r.to_wire(), b"550 5.7.1 noRCPT TO:<x>\r\n");
        let ehlo = Reply::plain(250, vec!["mugai".into(), "PIPELINING".into()]);
        assert_eq!(ehlo.to_wire(), b"250-mugai\r\n250 PIPELINING\r\n");
    }
}
