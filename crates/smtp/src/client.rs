//! The next-hop client: one connection, one command at a time, every reply
//! kept so that it can be handed back to our own client.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWrite, AsyncWriteExt, BufStream};
use tokio::net::TcpStream;

use crate::Reply;
use crate::session::MailFrom;

/// The longest reply line we read from a next hop.
const MAX_REPLY_LINE: usize = 4096;
/// The most lines in one reply (EHLO lists are the long ones).
const MAX_REPLY_LINES: usize = 100;

/// Why talking to the next hop failed. Every variant means the next hop has
/// not taken the message.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// No connection.
    #[error("connecting to {addr}: {source}")]
    Connect {
        /// The next hop.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
    /// The connection broke.
    #[error("talking to the next hop: {0}")]
    Io(#[from] std::io::Error),
    /// No answer in time.
    #[error("the next hop did not answer within {0:?}")]
    Timeout(Duration),
    /// The answer was not SMTP.
    #[error("the next hop's reply is not SMTP: {0}")]
    Protocol(String),
    /// The next hop refused the session itself (greeting or EHLO).
    #[error("the next hop refused the session: {0}")]
    Refused(Reply),
}

/// What the next hop offered in its EHLO reply.
#[derive(Debug, Clone, Copy, Default)]
pub struct Capabilities {
    /// 8BITMIME.
    pub eight_bit: bool,
    /// SMTPUTF8.
    pub smtputf8: bool,
}

/// A connection to the next hop.
#[derive(Debug)]
pub struct Client {
    stream: BufStream<TcpStream>,
    timeout: Duration,
    capabilities: Capabilities,
}

impl Client {
    /// Connects, reads the greeting and says EHLO (HELO if EHLO is refused).
    pub async fn connect(addr: &str, helo: &str, timeout: Duration) -> Result<Self, ClientError> {
        let tcp = tokio::time::timeout(timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| ClientError::Timeout(timeout))?
            .map_err(|source| ClientError::Connect {
                addr: addr.to_owned(),
                source,
            })?;
        tcp.set_nodelay(true)?;
        let mut client = Self {
            stream: BufStream::new(tcp),
            timeout,
            capabilities: Capabilities::default(),
        };
        let greeting = client.read_reply().await?;
        if !greeting.is_positive() {
            return Err(ClientError::Refused(greeting));
        }
        let ehlo = client.command(&format!("EHLO {helo}")).await?;
        if ehlo.is_positive() {
            for line in &ehlo.lines {
                match line
                    .split_whitespace()
                    .next()
                    .map(str::to_ascii_uppercase)
                    .as_deref()
                {
                    Some("8BITMIME") => client.capabilities.eight_bit = true,
                    Some("SMTPUTF8") => client.capabilities.smtputf8 = true,
                    _ => {}
                }
            }
        } else {
            let helo = client.command(&format!("HELO {helo}")).await?;
            if !helo.is_positive() {
                return Err(ClientError::Refused(helo));
            }
        }
        Ok(client)
    }

    /// What the next hop offered.
    pub fn capabilities(&self) -> Capabilities {
        self.capabilities
    }

    /// MAIL FROM, passing on BODY=8BITMIME and SMTPUTF8 where both sides know them.
    pub async fn mail(&mut self, from: &MailFrom) -> Result<Reply, ClientError> {
        let mut line = format!("MAIL FROM:<{}>", from.address);
        if from.body_8bit && self.capabilities.eight_bit {
            line.push_str(" BODY=8BITMIME");
        }
        if from.smtputf8 && self.capabilities.smtputf8 {
            line.push_str(" SMTPUTF8");
        }
        self.command(&line).await
    }

    /// RCPT TO.
    pub async fn rcpt(&mut self, to: &str) -> Result<Reply, ClientError> {
        self.command(&format!("RCPT TO:<{to}>")).await
    }

    /// DATA, the dot-stuffed message, and the final dot; the reply is the
    /// next hop's verdict on the whole message.
    pub async fn data(&mut self, message: &[u8]) -> Result<Reply, ClientError> {
        let go = self.command("DATA").await?;
        if go.code != 354 {
            return Ok(go);
        }
        let stream = &mut self.stream;
        with_timeout(self.timeout, async {
            write_stuffed(stream, message).await?;
            stream.flush().await
        })
        .await?;
        self.read_reply().await
    }

    /// RSET: ends the transaction, keeps the connection.
    pub async fn rset(&mut self) -> Result<Reply, ClientError> {
        self.command("RSET").await
    }

    /// QUIT, ignoring what the next hop says: the work is done.
    pub async fn quit(mut self) {
        let _ = self.command("QUIT").await;
    }

    /// Sends one command line and reads its reply.
    pub async fn command(&mut self, line: &str) -> Result<Reply, ClientError> {
        // Addresses come from our own client; a CR or LF in them would start
        // a second command at the next hop.
        if line.bytes().any(|b| b == b'\r' || b == b'\n') {
            return Err(ClientError::Protocol("CR or LF in a command".into()));
        }
        let stream = &mut self.stream;
        with_timeout(self.timeout, async {
            stream.write_all(line.as_bytes()).await?;
            stream.write_all(b"\r\n").await?;
            stream.flush().await
        })
        .await?;
        self.read_reply().await
    }

    async fn read_reply(&mut self) -> Result<Reply, ClientError> {
        let timeout = self.timeout;
        let mut lines = Vec::new();
        let mut code = 0;
        loop {
            let mut line = Vec::new();
            let read = tokio::time::timeout(timeout, read_line(&mut self.stream, &mut line))
                .await
                .map_err(|_| ClientError::Timeout(timeout))??;
            if read == 0 {
                return Err(ClientError::Io(std::io::ErrorKind::UnexpectedEof.into()));
            }
            let text = String::from_utf8_lossy(&line);
            let text = text.trim_end_matches(['\r', '\n']);
            let (this_code, last, rest) = parse_reply_line(text)
                .ok_or_else(|| ClientError::Protocol(text.chars().take(80).collect()))?;
            if code != 0 && this_code != code {
                return Err(ClientError::Protocol("codes differ within a reply".into()));
            }
            code = this_code;
            lines.push(rest.to_owned());
            if last {
                break;
            }
            if lines.len() >= MAX_REPLY_LINES {
                return Err(ClientError::Protocol("reply too long".into()));
            }
        }
        Ok(split_enhanced(code, lines))
    }
}

async fn with_timeout<T>(
    timeout: Duration,
    f: impl Future<Output = std::io::Result<T>>,
) -> Result<T, ClientError> {
    match tokio::time::timeout(timeout, f).await {
        Ok(r) => Ok(r?),
        Err(_) => Err(ClientError::Timeout(timeout)),
    }
}

/// Reads one line of at most MAX_REPLY_LINE bytes.
async fn read_line(
    stream: &mut BufStream<TcpStream>,
    line: &mut Vec<u8>,
) -> std::io::Result<usize> {
    loop {
        let buf = stream.fill_buf().await?;
        if buf.is_empty() {
            return Ok(line.len());
        }
        let (take, done) = match memchr::memchr(b'\n', buf) {
            Some(i) => (i + 1, true),
            None => (buf.len(), false),
        };
        line.extend_from_slice(&buf[..take]);
        stream.consume(take);
        if line.len() > MAX_REPLY_LINE {
            return Err(std::io::Error::other("reply line too long"));
        }
        if done {
            return Ok(line.len());
        }
    }
}

/// `250-text` → (250, false, "text"); `250 text` or `250` → last line.
fn parse_reply_line(line: &str) -> Option<(u16, bool, &str)> {
    let digits = line.get(..3)?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let code: u16 = digits.parse().ok()?;
    if !(200..600).contains(&code) {
        return None;
    }
    match line.as_bytes().get(3) {
        None => Some((code, true, "")),
        Some(b' ') => Some((code, true, &line[4..])),
        Some(b'-') => Some((code, false, &line[4..])),
        Some(_) => None,
    }
}

/// Takes a leading `x.y.z` enhanced status code off the first line.
fn split_enhanced(code: u16, mut lines: Vec<String>) -> Reply {
    let enhanced = lines.first().and_then(|first| {
        let candidate = first.split(' ').next()?;
        let parts: Vec<&str> = candidate.split('.').collect();
        let ok = parts.len() == 3
            && parts[0] == (code / 100).to_string()
            && parts[1..]
                .iter()
                .all(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()));
        ok.then(|| candidate.to_owned())
    });
    if let Some(e) = &enhanced {
        if let Some(first) = lines.first_mut() {
            *first = first[e.len()..].trim_start().to_owned();
        }
        for line in lines.iter_mut().skip(1) {
            if let Some(rest) = line.strip_prefix(e.as_str()) {
                *line = rest.trim_start().to_owned();
            }
        }
    }
    Reply {
        code,
        enhanced,
        lines,
    }
}

/// Writes the message as sent after DATA: leading dots doubled, a final
/// CRLF, and the terminating dot. It goes out in pieces of about 64 KB,
/// so a large message is never copied whole.
async fn write_stuffed<W: AsyncWrite + Unpin>(w: &mut W, message: &[u8]) -> std::io::Result<()> {
    const PIECE: usize = 64 * 1024;
    let mut out = Vec::with_capacity(PIECE);
    let mut start = 0;
    if message.first() == Some(&b'.') {
        out.push(b'.');
    }
    let mut lines = memchr::memchr_iter(b'\n', message).map(|lf| lf + 1);
    loop {
        let end = lines.next();
        let line = &message[start..end.unwrap_or(message.len())];
        if out.len() + line.len() > PIECE {
            w.write_all(&out).await?;
            out.clear();
        }
        if line.len() > PIECE {
            w.write_all(line).await?;
        } else {
            out.extend_from_slice(line);
        }
        let Some(end) = end else { break };
        start = end;
        if message.get(start) == Some(&b'.') {
            out.push(b'.');
        }
    }
    if !message.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    w.write_all(&out).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_and_enhanced_codes() {
        assert_eq!(
            parse_reply_line("250-PIPELINING"),
            Some((250, false, "PIPELINING"))
        );
        assert_eq!(parse_reply_line("354"), Some((354, true, "")));
        assert_eq!(parse_reply_line("hello"), None);
        let r = split_enhanced(550, vec!["5.1.1 <x@y>: Recipient address rejected".into()]);
        assert_eq!(r.enhanced.as_deref(), Some("5.1.1"));
        assert_eq!(r.lines, ["<x@y>: Recipient address rejected"]);
        let r = split_enhanced(250, vec!["2.0.0 Ok: queued as 4Xy".into()]);
        assert_eq!(r.to_string(), "250 2.0.0 Ok: queued as 4Xy");
        assert_eq!(
            split_enhanced(220, vec!["host ESMTP".into()]).enhanced,
            None
        );
    }

    #[test]
    fn dot_stuffing() {
        let stuffed = |m: &[u8]| {
            let mut out = Vec::new();
            let runtime = tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("runtime");
            runtime
                .block_on(write_stuffed(&mut out, m))
                .expect("written");
            out
        };
        assert_eq!(stuffed(b".a\r\n.\r\nb"), b"..a\r\n..\r\nb\r\n.\r\n");
        assert_eq!(stuffed(b""), b"\r\n.\r\n");
        assert_eq!(stuffed(b"x\r\n"), b"x\r\n.\r\n");
        // Across pieces and in lines longer than a piece, every leading dot
        // is doubled and nothing is lost.
        let mut big = Vec::new();
        for i in 0..20_000 {
            big.extend_from_slice(if i % 3 == 0 {
                b".dot line\r\n"
            } else {
                b"plain line\r\n"
            });
        }
        big.extend_from_slice(&[b'y'; 200_000]);
        big.extend_from_slice(b"\r\n.last");
        let out = stuffed(&big);
        let mut expected = Vec::new();
        for line in big.split_inclusive(|&c| c == b'\n') {
            if line.starts_with(b".") {
                expected.push(b'.');
            }
            expected.extend_from_slice(line);
        }
        expected.extend_from_slice(b"\r\n.\r\n");
        assert_eq!(out, expected);
    }
}
