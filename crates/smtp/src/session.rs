//! The server side of one SMTP connection, without I/O.
//!
//! Bytes go in with [`Session::receive`]; [`Session::next_event`] hands out
//! what to do, one event at a time: a reply to write, or a question for the
//! handler (MAIL, RCPT, a whole message) whose answer comes back through
//! [`Session::answer`]. "Needs more data" is `None`, an ordinary result.
//!
//! smtp-proto parses command lines; the framing is ours, because smtp-proto
//! takes a bare LF as a line end and passes bare CR and LF through DATA. Here
//! every line must end in CRLF, and a bare CR or LF anywhere closes the
//! connection (Postfix's `smtpd_forbid_bare_newline`), so no other MTA's idea
//! of where a message ends can be used to smuggle a second one past us.

use std::collections::VecDeque;
use std::net::IpAddr;

use smtp_proto::{Error as ProtoError, Request};

use crate::reply::Reply;

/// The longest command line we read (RFC 5321 says 512; extensions add more).
const MAX_COMMAND_LINE: usize = 2048;
/// A DATA line is consumed in pieces once this much of it is buffered.
const DATA_CHUNK: usize = 64 * 1024;

/// What a session needs to know about its listener.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Our name, in the greeting and EHLO.
    pub hostname: String,
    /// SIZE: the largest message accepted, in bytes.
    pub max_message_size: usize,
    /// Recipients per message.
    pub max_recipients: usize,
    /// Domains we accept recipients for, lowercase. `*` accepts any domain;
    /// the configuration allows that only for listeners closed to the world.
    pub recipient_domains: Vec<String>,
    /// Whether STARTTLS is offered.
    pub starttls: bool,
    /// Errors in one transaction before the client is disconnected (Postfix
    /// `smtpd_hard_error_limit`): a delivered message or RSET starts the
    /// count again.
    pub max_errors: usize,
    /// NOOP, RSET, HELO/EHLO, VRFY and the like between two accepted
    /// messages before the client is disconnected (Postfix
    /// `smtpd_junk_command_limit`): a session kept busy without sending mail.
    pub max_junk_commands: usize,
}

/// MAIL FROM as the handler sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailFrom {
    /// The reverse path; empty for the null sender.
    pub address: String,
    /// `BODY=8BITMIME` was given.
    pub body_8bit: bool,
    /// `SMTPUTF8` was given.
    pub smtputf8: bool,
    /// The declared size, 0 when not given.
    pub size: usize,
}

/// What the connection loop must do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Write this reply (after any earlier ones).
    Reply(Reply),
    /// Ask the handler; pass its reply to [`Session::answer`].
    Mail(MailFrom),
    /// Ask the handler; pass its reply to [`Session::answer`].
    Rcpt(String),
    /// A whole message (dot-unstuffed, CRLF line ends); pass the handler's
    /// reply to [`Session::answer`].
    Message(Vec<u8>),
    /// The transaction is abandoned (RSET, EHLO, STARTTLS): tell the handler.
    Reset,
    /// The 220 for STARTTLS is queued: flush it, then do the TLS handshake
    /// and call [`Session::tls_started`].
    StartTls,
    /// Flush and close the connection.
    Close,
}

/// Who the client is, as far as the session knows.
#[derive(Debug, Clone)]
pub struct Peer {
    /// The client's address.
    pub ip: IpAddr,
    /// The HELO/EHLO name, once given.
    pub helo: Option<String>,
    /// Whether the client said EHLO (rather than HELO).
    pub esmtp: bool,
    /// Whether the connection is under TLS.
    pub tls: bool,
}

/// The transaction being built between MAIL and the end of DATA.
#[derive(Debug, Clone)]
struct Transaction {
    recipients: usize,
}

/// Where the session is; each state carries only what it needs.
#[derive(Debug)]
enum State {
    /// Reading commands.
    Command,
    /// Reading the message after 354.
    Data(DataReader),
    /// Waiting for the handler to answer the question last asked.
    Waiting(Question),
    /// Waiting for the TLS handshake after STARTTLS.
    Handshake,
    /// The connection is over; nothing more is read.
    Closed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Question {
    Mail,
    Rcpt,
    Message,
}

/// The DATA phase: CRLF lines, dot-unstuffing, a size cap.
#[derive(Debug, Default)]
struct DataReader {
    body: Vec<u8>,
    /// The current line began in an earlier piece (a long line being consumed).
    mid_line: bool,
    /// The message grew beyond the limit; the rest is read and dropped.
    too_big: bool,
}

/// One SMTP server session.
#[derive(Debug)]
pub struct Session {
    config: std::sync::Arc<SessionConfig>,
    peer: Peer,
    state: State,
    transaction: Option<Transaction>,
    input: Vec<u8>,
    /// Start of the unread input; compacted when the buffer is drained.
    pos: usize,
    events: VecDeque<Event>,
    errors: usize,
    junk: usize,
    /// Command lines read so far: the server's deadlines start again at
    /// each one.
    commands: u64,
}

impl Session {
    /// A new session; the greeting is the first event.
    pub fn new(config: std::sync::Arc<SessionConfig>, ip: IpAddr) -> Self {
        let greeting = Reply::plain(220, vec![format!("{} ESMTP mugai", config.hostname)]);
        Self {
            config,
            peer: Peer {
                ip,
                helo: None,
                esmtp: false,
                tls: false,
            },
            state: State::Command,
            transaction: None,
            input: Vec::new(),
            pos: 0,
            events: VecDeque::from([Event::Reply(greeting)]),
            errors: 0,
            junk: 0,
            commands: 0,
        }
    }

    /// Where the client is, for the server's deadlines: how many command
    /// lines it has sent, and whether it is sending a message.
    pub fn progress(&self) -> (u64, bool) {
        (self.commands, matches!(self.state, State::Data(_)))
    }

    /// The client as known so far.
    pub fn peer(&self) -> &Peer {
        &self.peer
    }

    /// Whether the session will read no more (after QUIT or a fatal error).
    pub fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed)
    }

    /// Whether more input is wanted: false while an answer is awaited.
    pub fn wants_input(&self) -> bool {
        self.events.is_empty() && matches!(self.state, State::Command | State::Data(_))
    }

    /// Buffers bytes read from the client.
    pub fn receive(&mut self, bytes: &[u8]) {
        // Drop what was read once it is at least half the buffer: amortized
        // linear, and the buffer stays near the size of what is unread.
        if self.pos > 0 && self.pos * 2 >= self.input.len() {
            self.input.drain(..self.pos);
            self.pos = 0;
        }
        self.input.extend_from_slice(bytes);
    }

    /// Whether unread input is buffered (a pipelined command, or more data).
    pub fn has_buffered_input(&self) -> bool {
        self.pos < self.input.len()
    }

    /// The next thing to do, or `None` when more input is needed (or an
    /// answer is awaited).
    pub fn next_event(&mut self) -> Option<Event> {
        loop {
            if let Some(e) = self.events.pop_front() {
                return Some(e);
            }
            let progressed = match self.state {
                State::Command => self.read_command(),
                State::Data(_) => self.read_data(),
                State::Waiting(_) | State::Handshake | State::Closed => false,
            };
            if !progressed {
                return None;
            }
        }
    }

    /// The handler's reply to the last [`Event::Mail`], [`Event::Rcpt`] or
    /// [`Event::Message`]; it is queued for the client.
    pub fn answer(&mut self, reply: Reply) {
        let State::Waiting(question) = self.state else {
            // An answer nobody asked for is a bug in the caller; drop it
            // rather than confuse the client.
            return;
        };
        match question {
            Question::Mail if reply.is_positive() => {
                self.transaction = Some(Transaction { recipients: 0 });
            }
            Question::Rcpt if reply.is_positive() => {
                if let Some(t) = &mut self.transaction {
                    t.recipients += 1;
                }
            }
            Question::Message => {
                self.transaction = None;
                // A delivered message clears the counts: they limit what a
                // client does without sending mail.
                if reply.is_positive() {
                    self.junk = 0;
                    self.errors = 0;
                }
            }
            _ => {}
        }
        self.state = State::Command;
        if reply.is_positive() {
            self.reply(reply);
        } else {
            self.error(reply);
        }
    }

    /// The TLS handshake after STARTTLS succeeded: the client starts over
    /// with EHLO (RFC 3207).
    pub fn tls_started(&mut self) {
        self.peer.tls = true;
        self.peer.helo = None;
        self.peer.esmtp = false;
        self.transaction = None;
        self.state = State::Command;
    }

    /// Called when the server is shutting down or a timeout struck.
    pub fn close_with(&mut self, reply: Reply) {
        self.events.push_back(Event::Reply(reply));
        self.events.push_back(Event::Close);
        self.state = State::Closed;
    }

    fn reply(&mut self, reply: Reply) {
        self.events.push_back(Event::Reply(reply));
    }

    /// A failed command: counted against the hard error limit.
    fn error(&mut self, reply: Reply) {
        self.errors += 1;
        self.reply(reply);
        if self.errors >= self.config.max_errors {
            self.close_with(Reply::new(421, "4.7.0", "too many errors, closing"));
        }
    }

    fn fatal(&mut self, reply: Reply) {
        self.close_with(reply);
    }

    /// Reads one command line if a whole one is buffered.
    fn read_command(&mut self) -> bool {
        let unread = &self.input[self.pos..];
        let Some(lf) = memchr::memchr(b'\n', unread) else {
            if unread.len() > MAX_COMMAND_LINE {
                self.fatal(Reply::new(500, "5.5.2", "line too long"));
                return true;
            }
            return false;
        };
        if lf + 1 > MAX_COMMAND_LINE {
            self.fatal(Reply::new(500, "5.5.2", "line too long"));
            return true;
        }
        let line = unread[..=lf].to_vec();
        self.pos += lf + 1;
        self.commands += 1;
        if lf == 0 || line[lf - 1] != b'\r' {
            self.fatal(Reply::new(521, "5.5.2", "bare <LF> received"));
            return true;
        }
        if memchr::memchr(b'\r', &line[..lf - 1]).is_some() {
            self.fatal(Reply::new(521, "5.5.2", "bare <CR> received"));
            return true;
        }
        self.command(&line);
        true
    }

    fn command(&mut self, line: &[u8]) {
        let request = Request::parse(&mut line.iter());
        let junk = matches!(
            request,
            Ok(Request::Noop { .. }
                | Request::Rset
                | Request::Vrfy { .. }
                | Request::Expn { .. }
                | Request::Help { .. }
                | Request::Etrn { .. }
                | Request::Ehlo { .. }
                | Request::Helo { .. })
        );
        if junk {
            self.junk += 1;
            if self.junk > self.config.max_junk_commands {
                return self.fatal(Reply::new(421, "4.7.0", "too many commands, closing"));
            }
        }
        let request = match request {
            Ok(r) => r,
            Err(e) => {
                self.error(syntax_reply(&e));
                return;
            }
        };
        match request {
            Request::Ehlo { host } => self.hello(host.into_owned(), true),
            Request::Helo { host } => self.hello(host.into_owned(), false),
            Request::Lhlo { .. } => self.error(Reply::new(500, "5.5.1", "this is not LMTP")),
            Request::Mail { from } => self.mail(from),
            Request::Rcpt { to } => self.rcpt(to.address.into_owned()),
            Request::Data => self.data(),
            Request::Rset => {
                // Errors count per transaction; RSET starts a new one (the
                // junk limit still counts every RSET).
                self.errors = 0;
                self.reset();
                self.reply(Reply::new(250, "2.0.0", "OK"));
            }
            Request::Noop { .. } => self.reply(Reply::new(250, "2.0.0", "OK")),
            Request::Quit => {
                self.reset();
                self.close_with(Reply::new(221, "2.0.0", "bye"));
            }
            Request::StartTls => self.starttls(),
            Request::Vrfy { .. } => self.error(Reply::new(502, "5.5.1", "VRFY is disabled")),
            Request::Expn { .. } => self.error(Reply::new(502, "5.5.1", "EXPN is disabled")),
            Request::Auth { .. } => self.error(Reply::new(502, "5.5.1", "AUTH is not offered")),
            Request::Bdat { .. } => self.error(Reply::new(502, "5.5.1", "CHUNKING is not offered")),
            _ => self.error(Reply::new(502, "5.5.1", "command not implemented")),
        }
    }

    fn hello(&mut self, host: String, esmtp: bool) {
        self.reset();
        let name = self.config.hostname.clone();
        let reply = if esmtp {
            let mut lines = vec![
                name,
                "PIPELINING".to_owned(),
                format!("SIZE {}", self.config.max_message_size),
                "8BITMIME".to_owned(),
                "SMTPUTF8".to_owned(),
                "ENHANCEDSTATUSCODES".to_owned(),
            ];
            if self.config.starttls && !self.peer.tls {
                lines.push("STARTTLS".to_owned());
            }
            Reply::plain(250, lines)
        } else {
            Reply::plain(250, vec![name])
        };
        self.peer.helo = Some(host);
        self.peer.esmtp = esmtp;
        self.reply(reply);
    }

    fn mail(&mut self, from: smtp_proto::MailFrom<std::borrow::Cow<'_, str>>) {
        if self.peer.helo.is_none() {
            return self.error(Reply::new(503, "5.5.1", "send EHLO first"));
        }
        if self.transaction.is_some() {
            return self.error(Reply::new(503, "5.5.1", "nested MAIL command"));
        }
        if from.size > self.config.max_message_size {
            return self.error(Reply::new(552, "5.3.4", "message too big"));
        }
        let mail = MailFrom {
            address: from.address.into_owned(),
            body_8bit: from.flags & smtp_proto::MAIL_BODY_8BITMIME != 0,
            smtputf8: from.flags & smtp_proto::MAIL_SMTPUTF8 != 0,
            size: from.size,
        };
        self.ask(Question::Mail, Event::Mail(mail));
    }

    fn rcpt(&mut self, address: String) {
        let Some(t) = &self.transaction else {
            return self.error(Reply::new(503, "5.5.1", "need MAIL before RCPT"));
        };
        if t.recipients >= self.config.max_recipients {
            // 452 lets the client send the rest in another transaction.
            return self.reply(Reply::new(452, "4.5.3", "too many recipients"));
        }
        if !self.accepts_domain(&address) {
            return self.error(Reply::new(554, "5.7.1", "relay access denied"));
        }
        self.ask(Question::Rcpt, Event::Rcpt(address));
    }

    fn accepts_domain(&self, address: &str) -> bool {
        let Some((_, domain)) = address.rsplit_once('@') else {
            return false;
        };
        let domain = domain.trim_end_matches('.').to_lowercase();
        self.config
            .recipient_domains
            .iter()
            .any(|d| d == "*" || *d == domain)
    }

    fn data(&mut self) {
        match &self.transaction {
            None => self.error(Reply::new(503, "5.5.1", "need MAIL before DATA")),
            Some(t) if t.recipients == 0 => {
                self.error(Reply::new(554, "5.5.1", "no valid recipients"))
            }
            Some(_) => {
                self.reply(Reply::plain(
                    354,
                    vec!["end data with <CR><LF>.<CR><LF>".into()],
                ));
                self.state = State::Data(DataReader::default());
            }
        }
    }

    fn starttls(&mut self) {
        if !self.config.starttls || self.peer.tls {
            return self.error(Reply::new(502, "5.5.1", "STARTTLS not offered"));
        }
        // Anything pipelined after STARTTLS was sent in the clear and must not
        // be read as if it came over TLS (CVE-2011-0411).
        self.pos = self.input.len();
        self.reset();
        self.reply(Reply::new(220, "2.0.0", "ready to start TLS"));
        self.events.push_back(Event::StartTls);
        self.state = State::Handshake;
    }

    fn reset(&mut self) {
        if self.transaction.take().is_some() {
            self.events.push_back(Event::Reset);
        }
    }

    fn ask(&mut self, question: Question, event: Event) {
        self.events.push_back(event);
        self.state = State::Waiting(question);
    }

    /// Consumes buffered DATA lines; true if anything happened.
    fn read_data(&mut self) -> bool {
        let State::Data(mut reader) = std::mem::replace(&mut self.state, State::Command) else {
            return false;
        };
        let max = self.config.max_message_size;
        let mut progressed = false;
        loop {
            let unread = &self.input[self.pos..];
            let Some(lf) = memchr::memchr(b'\n', unread) else {
                // A long line: take it in pieces, keeping a trailing CR back
                // so that its LF can still be checked.
                if unread.len() >= DATA_CHUNK {
                    let take = unread.len() - 1;
                    let piece = &unread[..take];
                    if memchr::memchr(b'\r', piece).is_some() {
                        return self.bare_newline("<CR>");
                    }
                    reader.append(piece, max);
                    reader.mid_line = true;
                    self.pos += take;
                    progressed = true;
                }
                self.state = State::Data(reader);
                return progressed;
            };
            let line = &unread[..=lf];
            if lf == 0 || line[lf - 1] != b'\r' {
                return self.bare_newline("<LF>");
            }
            if memchr::memchr(b'\r', &line[..lf - 1]).is_some() {
                return self.bare_newline("<CR>");
            }
            self.pos += lf + 1;
            if !reader.mid_line && line == b".\r\n" {
                return self.end_of_data(reader);
            }
            let line = if !reader.mid_line && line.first() == Some(&b'.') {
                &line[1..]
            } else {
                line
            };
            reader.append(line, max);
            reader.mid_line = false;
            progressed = true;
        }
    }

    fn bare_newline(&mut self, what: &str) -> bool {
        self.transaction = None;
        self.fatal(Reply::new(521, "5.5.2", format!("bare {what} received")));
        true
    }

    fn end_of_data(&mut self, reader: DataReader) -> bool {
        if reader.too_big {
            self.transaction = None;
            self.state = State::Command;
            self.events.push_back(Event::Reset);
            self.error(Reply::new(552, "5.3.4", "message too big"));
            return true;
        }
        self.ask(Question::Message, Event::Message(reader.body));
        true
    }
}

impl DataReader {
    fn append(&mut self, bytes: &[u8], max: usize) {
        if self.too_big {
            return;
        }
        if self.body.len() + bytes.len() > max {
            self.too_big = true;
            self.body = Vec::new();
        } else {
            self.body.extend_from_slice(bytes);
        }
    }
}

fn syntax_reply(e: &ProtoError) -> Reply {
    match e {
        ProtoError::UnknownCommand => Reply::new(500, "5.5.2", "command not recognized"),
        ProtoError::InvalidSenderAddress => Reply::new(501, "5.1.7", "bad sender address syntax"),
        ProtoError::InvalidRecipientAddress => {
            Reply::new(501, "5.1.3", "bad recipient address syntax")
        }
        ProtoError::SyntaxError { syntax } => Reply::new(501, "5.5.4", format!("syntax: {syntax}")),
        ProtoError::InvalidParameter { param } => {
            Reply::new(555, "5.5.4", format!("invalid parameter {param}"))
        }
        ProtoError::UnsupportedParameter { param } => {
            Reply::new(555, "5.5.4", format!("unsupported parameter {param}"))
        }
        _ => Reply::new(501, "5.5.4", "syntax error"),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn config() -> Arc<SessionConfig> {
        Arc::new(SessionConfig {
            hostname: "mugai.test".into(),
            max_message_size: 1000,
            max_recipients: 2,
            recipient_domains: vec!["example.lg.jp".into()],
            starttls: true,
            max_errors: 5,
            max_junk_commands: 8,
        })
    }

    /// Feeds `input`, answers every question with 250, and returns what the
    /// client would read, the messages handed over, and whether it closed.
    fn run(input: &[u8]) -> (String, Vec<Vec<u8>>, bool) {
        let mut s = Session::new(config(), "192.0.2.1".parse().expect("ip"));
        s.receive(input);
        let mut out = Vec::new();
        let mut messages = Vec::new();
        let mut closed = false;
        while let Some(event) = s.next_event() {
            match event {
                Event::Reply(r) => out.extend(r.to_wire()),
                Event::Mail(_) | Event::Rcpt(_) => s.answer(Reply::new(250, "2.1.0", "ok")),
                Event::Message(m) => {
                    messages.push(m);
                    s.answer(Reply::new(250, "2.0.0", "queued"));
                }
                Event::Reset => {}
                Event::StartTls => s.tls_started(),
                Event::Close => {
                    closed = true;
                    break;
                }
            }
        }
        (String::from_utf8(out).expect("ascii"), messages, closed)
    }

    fn codes(wire: &str) -> Vec<&str> {
        wire.lines()
            .filter(|l| l.as_bytes().get(3) == Some(&b' '))
            .map(|l| &l[..3])
            .collect()
    }

    #[test]
    fn pipelined_transaction_with_dot_unstuffing() {
        let (wire, messages, closed) = run(
            b"EHLO client\r\nMAIL FROM:<a@example.com> BODY=8BITMIME\r\n\
            RCPT TO:<b@example.lg.jp>\r\nDATA\r\nSubject: x\r\n\r\n..leading dot\r\n.\r\nQUIT\r\n",
        );
        assert_eq!(
            codes(&wire),
            ["220", "250", "250", "250", "354", "250", "221"]
        );
        assert_eq!(messages, [b"Subject: x\r\n\r\n.leading dot\r\n".to_vec()]);
        assert!(closed);
    }

    #[test]
    fn never_an_open_relay() {
        let (wire, messages, _) = run(b"EHLO c\r\nMAIL FROM:<a@example.com>\r\n\
            RCPT TO:<victim@elsewhere.example>\r\nRCPT TO:<x@example.lg.jp.evil>\r\nDATA\r\n");
        assert_eq!(codes(&wire), ["220", "250", "250", "554", "554", "554"]);
        assert!(messages.is_empty());
    }

    #[test]
    fn smuggling_by_bare_newlines_is_refused() {
        for body in [
            &b"x\r\n\n.\n"[..],
            b"x\n.\r\nMAIL FROM:<evil@x>\r\n",
            b"x\r\n.\nRCPT TO:<y@z>\r\n",
            b"x\r.\r\n",
        ] {
            let mut input =
                b"EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<b@example.lg.jp>\r\nDATA\r\n".to_vec();
            input.extend_from_slice(body);
            input.extend_from_slice(b"\r\n.\r\n");
            let (wire, messages, closed) = run(&input);
            assert!(wire.contains("521 5.5.2 bare"), "{wire}");
            assert!(messages.is_empty() && closed, "{body:?}");
        }
        let (wire, _, closed) = run(b"EHLO c\nMAIL FROM:<a@b.c>\r\n");
        assert!(
            wire.ends_with("521 5.5.2 bare <LF> received\r\n") && closed,
            "{wire}"
        );
    }

    #[test]
    fn limits_and_sequence() {
        let big = format!(
            "EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<b@example.lg.jp>\r\nDATA\r\n{}\r\n.\r\n",
            "x".repeat(2000)
        );
        let (wire, messages, _) = run(big.as_bytes());
        assert!(wire.ends_with("552 5.3.4 message too big\r\n"), "{wire}");
        assert!(messages.is_empty());

        let (wire, _, _) = run(
            b"MAIL FROM:<a@b.c>\r\nEHLO c\r\nMAIL FROM:<a@b.c> SIZE=5000\r\n\
            MAIL FROM:<a@b.c>\r\nRCPT TO:<1@example.lg.jp>\r\nRCPT TO:<2@example.lg.jp>\r\n\
            RCPT TO:<3@example.lg.jp>\r\nVRFY root\r\n",
        );
        assert_eq!(
            codes(&wire),
            [
                "220", "503", "250", "552", "250", "250", "250", "452", "502"
            ]
        );

        let (wire, _, closed) = run(&[b"X".as_slice(); 3000].concat());
        assert!(wire.ends_with("500 5.5.2 line too long\r\n") && closed);

        let (wire, _, closed) = run(b"A\r\nB\r\nC\r\nD\r\nE\r\nF\r\n");
        assert!(wire.contains("421 4.7.0") && closed, "{wire}");
    }

    #[test]
    fn errors_count_per_transaction() {
        // Four errors, a delivered message, four more: under the limit of
        // five each time.
        // RCPT before MAIL: an error that is no junk command.
        let mistakes = "RCPT TO:<b@example.lg.jp>\r\n".repeat(4);
        let message = "MAIL FROM:<a@b.c>\r\nRCPT TO:<b@example.lg.jp>\r\nDATA\r\nx\r\n.\r\n";
        let input = format!("EHLO c\r\n{mistakes}{message}{mistakes}{message}");
        let (wire, messages, closed) = run(input.as_bytes());
        assert_eq!(messages.len(), 2, "{wire}");
        assert!(!closed && !wire.contains("421"), "{wire}");
        // RSET starts the count again too.
        let (wire, _, closed) = run(format!("EHLO c\r\n{mistakes}RSET\r\n{mistakes}").as_bytes());
        assert!(!closed && !wire.contains("421"), "{wire}");
        // Five in one transaction close the session.
        let (wire, _, closed) = run(format!("EHLO c\r\n{mistakes}DATA\r\n").as_bytes());
        assert!(wire.ends_with("421 4.7.0 too many errors, closing\r\n") && closed);
    }

    #[test]
    fn a_session_kept_busy_without_mail_is_closed() {
        let (wire, _, closed) = run(&b"NOOP\r\n".repeat(20));
        assert_eq!(wire.matches("250 2.0.0 OK").count(), 8, "{wire}");
        assert!(wire.ends_with("421 4.7.0 too many commands, closing\r\n") && closed);
    }

    #[test]
    fn starttls_discards_pipelined_plaintext() {
        let (wire, _, _) = run(b"EHLO c\r\nSTARTTLS\r\nMAIL FROM:<injected@x>\r\n");
        assert!(wire.contains("STARTTLS"));
        assert_eq!(codes(&wire), ["220", "250", "220"], "{wire}");
    }

    #[test]
    fn long_data_lines_are_taken_in_pieces() {
        let mut s = Session::new(
            Arc::new(SessionConfig {
                max_message_size: 1 << 20,
                ..(*config()).clone()
            }),
            "192.0.2.1".parse().expect("ip"),
        );
        s.receive(b"EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<b@example.lg.jp>\r\nDATA\r\n");
        let long = vec![b'y'; 200_000];
        let mut got = None;
        let mut fed = false;
        while got.is_none() {
            match s.next_event() {
                Some(Event::Mail(_) | Event::Rcpt(_)) => s.answer(Reply::new(250, "2.0.0", "ok")),
                Some(Event::Message(m)) => got = Some(m),
                Some(_) => {}
                None if !fed => {
                    for chunk in long.chunks(70_000) {
                        s.receive(chunk);
                        while let Some(e) = s.next_event() {
                            assert!(matches!(e, Event::Reply(_)), "{e:?}");
                        }
                    }
                    s.receive(b"\r\n.\r\n");
                    fed = true;
                }
                None => panic!("stalled"),
            }
        }
        let m = got.expect("message");
        assert_eq!(m.len(), 200_002);
        assert!(
            s.input.len() < 80_000,
            "the buffer does not hold the whole line"
        );
    }
}
