//! Per-client rates, counted the way Postfix's anvil does: events from one
//! address in a fixed window that starts with its first event.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What is counted.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Event {
    /// A connection was accepted.
    Connection,
    /// A MAIL FROM was accepted for relaying.
    Message,
}

/// Limits per window; `None` counts nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateLimits {
    /// Connections per window from one address.
    pub connections: Option<u32>,
    /// Messages (MAIL FROM) per window from one address.
    pub messages: Option<u32>,
    /// The window.
    pub window: Duration,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    start: Instant,
    connections: u32,
    messages: u32,
}

/// The counts of one listener.
#[derive(Debug)]
pub(crate) struct Rates {
    limits: RateLimits,
    table: Mutex<HashMap<IpAddr, Window>>,
}

/// Windows kept before expired ones are swept, so a scan from many
/// addresses cannot grow the table without bound.
const SWEEP_AT: usize = 4096;

impl Rates {
    pub(crate) fn new(limits: RateLimits) -> Self {
        Self {
            limits,
            table: Mutex::new(HashMap::new()),
        }
    }

    /// Counts the event; false when it is over the limit (and so not counted).
    pub(crate) fn allow(&self, ip: IpAddr, event: Event, now: Instant) -> bool {
        let limit = match event {
            Event::Connection => self.limits.connections,
            Event::Message => self.limits.messages,
        };
        let Some(limit) = limit else { return true };
        let window = self.limits.window;
        let mut table = self.table.lock().unwrap_or_else(|p| p.into_inner());
        if table.len() >= SWEEP_AT {
            table.retain(|_, w| now.saturating_duration_since(w.start) < window);
        }
        let w = table.entry(ip).or_insert(Window {
            start: now,
            connections: 0,
            messages: 0,
        });
        if now.saturating_duration_since(w.start) >= window {
            *w = Window {
                start: now,
                connections: 0,
                messages: 0,
            };
        }
        let count = match event {
            Event::Connection => &mut w.connections,
            Event::Message => &mut w.messages,
        };
        if *count >= limit {
            return false;
        }
        *count += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    fn rates(connections: Option<u32>, messages: Option<u32>) -> Rates {
        Rates::new(RateLimits {
            connections,
            messages,
            window: MINUTE,
        })
    }

    #[test]
    fn counts_per_address_within_the_window() {
        let r = rates(Some(2), None);
        let t = Instant::now();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        assert!(r.allow(a, Event::Connection, t));
        assert!(r.allow(a, Event::Connection, t + Duration::from_secs(1)));
        assert!(!r.allow(a, Event::Connection, t + Duration::from_secs(2)));
        assert!(r.allow(b, Event::Connection, t + Duration::from_secs(2)));
        // Messages are not limited here.
        assert!(r.allow(a, Event::Message, t + Duration::from_secs(3)));
        // A new window starts once the old one is over.
        assert!(r.allow(a, Event::Connection, t + MINUTE));
    }

    #[test]
    fn messages_and_connections_are_counted_apart() {
        let r = rates(Some(1), Some(1));
        let t = Instant::now();
        let a: IpAddr = "2001:db8::1".parse().unwrap();
        assert!(r.allow(a, Event::Connection, t));
        assert!(r.allow(a, Event::Message, t));
        assert!(!r.allow(a, Event::Message, t));
        assert!(!r.allow(a, Event::Connection, t));
    }

    #[test]
    fn expired_windows_are_swept() {
        let r = rates(Some(1), None);
        let t = Instant::now();
        for i in 0..SWEEP_AT as u32 {
            let ip = IpAddr::from(i.to_be_bytes());
            assert!(r.allow(ip, Event::Connection, t));
        }
        let later = t + MINUTE;
        assert!(r.allow("198.51.100.1".parse().unwrap(), Event::Connection, later));
        assert_eq!(r.table.lock().unwrap().len(), 1);
    }
}
