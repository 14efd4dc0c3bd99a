//! The gateway in-process: directory delivery, loop refusal, shutdown.

use std::time::Duration;

use mugai_smtp::{Client, Config, Gateway, MailFrom};
use tokio::io::AsyncReadExt;
use tokio_util::sync::CancellationToken;

fn config(store: &std::path::Path) -> Config {
    Config::from_toml(&format!(
        r#"
store = "{}"
[[listener]]
name = "inbound"
listen = "127.0.0.1:0"
direction = "inbound"
recipient_domains = ["example.lg.jp"]
"#,
        store.display()
    ))
    .expect("config")
}

fn from() -> MailFrom {
    MailFrom {
        address: "a@example.com".into(),
        body_8bit: false,
        smtputf8: false,
        size: 0,
    }
}

async fn send(addr: &str, message: &[u8]) -> mugai_smtp::Reply {
    let mut c = Client::connect(addr, "test", Duration::from_secs(10))
        .await
        .expect("connect");
    assert!(c.mail(&from()).await.expect("mail").is_positive());
    assert!(c.rcpt("u@example.lg.jp").await.expect("rcpt").is_positive());
    let reply = c.data(message).await.expect("data");
    c.quit().await;
    reply
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn directory_delivery_loops_and_shutdown() {
    let dir = tempfile::tempdir().expect("tempdir");
    let gateway = Gateway::bind(&config(dir.path())).await.expect("bind");
    let addr = gateway.local_addrs()[0].to_string();
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(gateway.run(shutdown.clone()));

    let reply = send(&addr, b"Subject: hi\r\n\r\nhello\r\n").await;
    assert!(reply.is_positive(), "{reply}");
    let delivered: Vec<_> = std::fs::read_dir(dir.path().join("delivered/inbound"))
        .expect("delivery directory")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    let eml = delivered
        .iter()
        .find(|p| p.extension().is_some_and(|e| e == "eml"))
        .expect("an .eml");
    let text = String::from_utf8(std::fs::read(eml).expect("read")).expect("utf-8");
    assert!(text.starts_with("X-Mugai-Verdict: clean"), "{text}");
    assert!(
        text.contains(
            "\r\nReceived: from test ([127.0.0.1])\r\n\tby mugai.localhost (mugai) with ESMTP id "
        ),
        "{text}"
    );
    assert!(text.ends_with("Subject: hi\r\n\r\nhello\r\n"), "{text}");

    let looping =
        "Received: from x by y; Mon, 1 Jan 2026 00:00:00 +0000\r\n".repeat(50) + "\r\nloop\r\n";
    let reply = send(&addr, looping.as_bytes()).await;
    assert_eq!(reply.code, 554, "{reply}");

    // An idle session hears 421 when the gateway stops, and the gateway ends.
    let mut idle = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    let mut greeting = [0u8; 256];
    let n = idle.read(&mut greeting).await.expect("greeting");
    assert!(greeting[..n].starts_with(b"220 "));
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .expect("stops within the grace period")
        .expect("no panic");
    let mut rest = Vec::new();
    idle.read_to_end(&mut rest).await.expect("read");
    assert_eq!(rest, b"421 4.3.2 shutting down, try again later\r\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbound_mail_leaves_its_message_id_behind() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = format!(
        r#"
store = "{}"
[[listener]]
name = "outbound"
listen = "127.0.0.1:0"
direction = "outbound"
recipient_domains = ["*"]
"#,
        dir.path().display()
    );
    let gateway = Gateway::bind(&Config::from_toml(&text).expect("config"))
        .await
        .expect("bind");
    let addr = gateway.local_addrs()[0].to_string();
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(gateway.run(shutdown.clone()));
    let reply = send(
        &addr,
        b"Message-ID: <thread-1@city.example.lg.jp>\r\nSubject: x\r\n\r\nhi\r\n",
    )
    .await;
    assert!(reply.is_positive(), "{reply}");
    shutdown.cancel();
    running.await.expect("stops");
    let sent = std::fs::read_to_string(dir.path().join("sent-message-ids")).expect("memory");
    assert_eq!(sent, "thread-1@city.example.lg.jp\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_per_client_address() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = config(dir.path());
    config.listeners[0].connection_rate_limit = Some(3);
    config.listeners[0].message_rate_limit = Some(1);
    let gateway = Gateway::bind(&config).await.expect("bind");
    let addr = gateway.local_addrs()[0].to_string();
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(gateway.run(shutdown.clone()));

    // First connection: one message, then the second MAIL is deferred.
    assert!(
        send(&addr, b"Subject: one\r\n\r\n1\r\n")
            .await
            .is_positive()
    );
    let mut c = Client::connect(&addr, "test", Duration::from_secs(10))
        .await
        .expect("second connection is within the rate");
    let reply = c.mail(&from()).await.expect("mail");
    assert_eq!(
        reply.to_string(),
        "450 4.7.1 too much mail from your address, try again later"
    );
    c.quit().await;
    // Third connection is the last one allowed; the fourth hears 421.
    let third = Client::connect(&addr, "test", Duration::from_secs(10)).await;
    assert!(third.is_ok());
    let mut fourth = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    let mut refused = Vec::new();
    fourth.read_to_end(&mut refused).await.expect("read");
    assert_eq!(
        refused,
        b"421 4.7.0 too many connections from your address, try again later\r\n"
    );

    shutdown.cancel();
    running.await.expect("no panic");
}

/// A client that reads the greeting, then sends `line` a byte at a time
/// every `pause`; what the server said by the time it stopped listening.
async fn trickle(addr: &str, before: &[u8], line: &[u8], pause: Duration) -> String {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    let greeting = lines.next_line().await.expect("read").unwrap_or_default();
    assert!(greeting.starts_with("220 "), "{greeting}");
    write.write_all(before).await.expect("write");
    let heard = tokio::spawn(async move {
        let mut all = String::new();
        while let Ok(Some(line)) = lines.next_line().await {
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    for b in line {
        if write.write_all(&[*b]).await.is_err() {
            break;
        }
        tokio::time::sleep(pause).await;
        if heard.is_finished() {
            break;
        }
    }
    heard.await.expect("reader")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_cut_off_and_others_are_served_throughout() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = config(dir.path());
    config.listeners[0].read_timeout_secs = 2;
    config.listeners[0].max_connections = 7;
    config.listeners[0].max_connections_per_ip = 100;
    let gateway = Gateway::bind(&config).await.expect("bind");
    let addr = gateway.local_addrs()[0].to_string();
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(gateway.run(shutdown.clone()));

    // Five clients send a command a byte every 300 ms (five seconds for
    // the line, against a two-second deadline for a whole command); two
    // more trickle a message after DATA.
    let command = b"EHLO a-very-slow-client.example\r\n";
    let mut slow = Vec::new();
    for _ in 0..5 {
        let addr = addr.clone();
        slow.push(tokio::spawn(async move {
            trickle(&addr, b"", command, Duration::from_millis(300)).await
        }));
    }
    // Normal clients are served all the while, through the two slots left
    // (one may still be the last session's, closing after its QUIT).
    for i in 0..8 {
        let reply = send(&addr, format!("Subject: {i}\r\n\r\nhello\r\n").as_bytes()).await;
        assert!(reply.is_positive(), "message {i}: {reply}");
    }
    for s in slow {
        let heard = s.await.expect("slow client");
        assert!(
            heard.ends_with("421 4.4.2 timeout exceeded, closing\n"),
            "{heard}"
        );
    }

    let data = "EHLO c\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<u@example.lg.jp>\r\nDATA\r\n";
    let heard = trickle(
        &addr,
        data.as_bytes(),
        &[b'x'; 40],
        Duration::from_millis(300),
    )
    .await;
    assert!(heard.contains("354 "), "{heard}");
    assert!(
        heard.ends_with("421 4.4.2 timeout exceeded, closing\n"),
        "a message trickled below the minimum rate: {heard}"
    );

    // With every slot held, the next client hears 421 at once.
    let mut held = Vec::new();
    for _ in 0..7 {
        let addr = addr.clone();
        held.push(tokio::spawn(async move {
            trickle(&addr, b"", b"NOOP\r\n", Duration::from_millis(400)).await
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut refused = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    let mut said = Vec::new();
    refused.read_to_end(&mut said).await.expect("read");
    assert_eq!(said, b"421 4.3.2 too many connections, try again later\r\n");
    for h in held {
        h.await.expect("held");
    }

    shutdown.cancel();
    running.await.expect("no panic");
}
