//! The SMTP session fed arbitrary bytes in arbitrary pieces, with the handler
//! answering yes or no. Oracles: no panic; every message handed over has only
//! CRLF line ends and fits the size limit; a message only after a DATA that
//! was answered 354; nothing after Close.
#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use mugai_smtp::{Event, Reply, Session, SessionConfig};

const MAX: usize = 4096;

fuzz_target!(|data: &[u8]| {
    let Some((&control, input)) = data.split_first() else {
        return;
    };
    let config = Arc::new(SessionConfig {
        hostname: "fuzz".into(),
        max_message_size: MAX,
        max_recipients: 3,
        recipient_domains: vec!["example.lg.jp".into()],
        starttls: control & 1 == 1,
        max_errors: 10,
        max_junk_commands: 50,
    });
    let mut session = Session::new(config, "192.0.2.1".parse().expect("ip"));
    let piece = 1 + usize::from(control >> 2);
    let mut answers = control.rotate_left(3);
    let mut closed = false;
    let mut data_started = 0usize;
    let mut messages = 0usize;
    for chunk in input.chunks(piece) {
        session.receive(chunk);
        while let Some(event) = session.next_event() {
            assert!(!closed, "an event after Close: {event:?}");
            match event {
                Event::Reply(r) => {
                    assert!(!r.to_wire().is_empty());
                    if r.code == 354 {
                        data_started += 1;
                    }
                }
                Event::Mail(_) | Event::Rcpt(_) | Event::Message(_) => {
                    if let Event::Message(m) = &event {
                        messages += 1;
                        assert!(messages <= data_started);
                        assert!(m.len() <= MAX);
                        for (i, &b) in m.iter().enumerate() {
                            match b {
                                b'\n' => assert!(i > 0 && m[i - 1] == b'\r', "bare LF"),
                                b'\r' => assert_eq!(m.get(i + 1), Some(&b'\n'), "bare CR"),
                                _ => {}
                            }
                        }
                    }
                    answers = answers.rotate_left(1);
                    let reply = if answers & 1 == 1 {
                        Reply::new(250, "2.0.0", "ok")
                    } else {
                        Reply::new(550, "5.0.0", "no")
                    };
                    session.answer(reply);
                }
                Event::Reset => {}
                Event::StartTls => session.tls_started(),
                Event::Close => closed = true,
            }
        }
    }
});
