//! Counters and latency histograms in the Prometheus text format, served on
//! `GET /metrics` by a deliberately small HTTP responder (a scrape is one
//! request per connection; nothing else is spoken).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 30.0,
];

#[derive(Debug, Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

/// Everything the relay counts. One per process, shared by every listener.
#[derive(Debug, Default)]
pub struct Metrics {
    /// `(name, labels)` → value; BTreeMap so the output is stable.
    counters: Mutex<BTreeMap<(&'static str, String), u64>>,
    histograms: Mutex<BTreeMap<String, Histogram>>,
    sessions: AtomicI64,
    /// Spooled messages per listener, as the worker last counted them.
    spooled: Mutex<BTreeMap<String, u64>>,
}

impl Metrics {
    pub(crate) fn add(&self, name: &'static str, labels: String, by: u64) {
        let mut c = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        *c.entry((name, labels)).or_insert(0) += by;
    }

    pub(crate) fn observe(&self, listener: &str, took: Duration) {
        let secs = took.as_secs_f64();
        let mut h = self.histograms.lock().unwrap_or_else(|p| p.into_inner());
        let h = h.entry(listener.to_owned()).or_default();
        for (i, bound) in BUCKETS.iter().enumerate() {
            if secs <= *bound {
                h.counts[i] += 1;
            }
        }
        h.sum += secs;
        h.count += 1;
    }

    pub(crate) fn set_spooled(&self, listener: &str, count: u64) {
        let mut s = self.spooled.lock().unwrap_or_else(|p| p.into_inner());
        s.insert(listener.to_owned(), count);
    }

    pub(crate) fn session_opened(&self) {
        self.sessions.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn session_closed(&self) {
        self.sessions.fetch_sub(1, Ordering::Relaxed);
    }

    /// The exposition text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let help = [
            ("mugai_messages_total", "Messages by listener and verdict."),
            (
                "mugai_received_bytes_total",
                "Message bytes received, by listener.",
            ),
            (
                "mugai_replies_total",
                "Replies to end of DATA, by listener and class.",
            ),
            (
                "mugai_connections_total",
                "Connections accepted, by listener.",
            ),
        ];
        let counters = self
            .counters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        for (name, text) in help {
            let _ = writeln!(out, "# HELP {name} {text}\n# TYPE {name} counter");
            for ((n, labels), v) in &counters {
                if *n == name {
                    let _ = writeln!(out, "{name}{{{labels}}} {v}");
                }
            }
        }
        let _ = writeln!(
            out,
            "# HELP mugai_sessions Open SMTP sessions.\n# TYPE mugai_sessions gauge\nmugai_sessions {}",
            self.sessions.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP mugai_spooled_messages Messages waiting in the spool.\n# TYPE mugai_spooled_messages gauge"
        );
        let spooled = self
            .spooled
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        for (listener, n) in &spooled {
            let _ = writeln!(out, "mugai_spooled_messages{{listener=\"{listener}\"}} {n}");
        }
        let name = "mugai_message_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} End of DATA to reply: sanitizing and relaying.\n# TYPE {name} histogram"
        );
        let histograms = self
            .histograms
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        for (listener, h) in &histograms {
            for (bound, count) in BUCKETS.iter().zip(h.counts) {
                let _ = writeln!(
                    out,
                    "{name}_bucket{{listener=\"{listener}\",le=\"{bound}\"}} {count}"
                );
            }
            let _ = writeln!(
                out,
                "{name}_bucket{{listener=\"{listener}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(out, "{name}_sum{{listener=\"{listener}\"}} {}", h.sum);
            let _ = writeln!(out, "{name}_count{{listener=\"{listener}\"}} {}", h.count);
        }
        out
    }
}

/// Answers `GET /metrics` until `shutdown`.
pub(crate) async fn serve(
    listener: TcpListener,
    metrics: std::sync::Arc<Metrics>,
    shutdown: CancellationToken,
) {
    loop {
        let stream = tokio::select! {
            _ = shutdown.cancelled() => return,
            a = listener.accept() => match a {
                Ok((s, _)) => s,
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let metrics = std::sync::Arc::clone(&metrics);
        tokio::spawn(async move {
            let _ = tokio::time::timeout(Duration::from_secs(5), scrape(stream, &metrics)).await;
        });
    }
}

async fn scrape(mut stream: tokio::net::TcpStream, metrics: &Metrics) -> std::io::Result<()> {
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await?;
        if n == 0 || request.len() > 8192 {
            return Ok(());
        }
        request.extend_from_slice(&buf[..n]);
    }
    let (status, body) = if request.starts_with(b"GET /metrics ") {
        ("200 OK", metrics.render())
    } else {
        ("404 Not Found", "not found\n".to_owned())
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition() {
        let m = Metrics::default();
        m.add(
            "mugai_messages_total",
            "listener=\"in\",verdict=\"deliver\"".into(),
            2,
        );
        m.observe("in", Duration::from_millis(3));
        m.set_spooled("in", 7);
        let text = m.render();
        assert!(text.contains("mugai_spooled_messages{listener=\"in\"} 7"));
        assert!(text.contains("mugai_messages_total{listener=\"in\",verdict=\"deliver\"} 2"));
        assert!(text.contains("mugai_message_seconds_bucket{listener=\"in\",le=\"0.005\"} 1"));
        assert!(text.contains("mugai_message_seconds_bucket{listener=\"in\",le=\"0.0025\"} 0"));
        assert!(text.contains("mugai_message_seconds_count{listener=\"in\"} 1"));
    }
}
