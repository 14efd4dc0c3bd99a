//! The tokio side: accept connections and drive a [`Session`] for each.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use ipnet::IpNet;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::Reply;
use crate::rate::{self, RateLimits, Rates};
use crate::session::{Event, MailFrom, Peer, Session, SessionConfig};

/// What the server asks of the code behind it, once per connection.
pub trait Handler: Send + Sync + 'static {
    /// The per-connection part (a next-hop connection, say).
    type Connection: Connection;

    /// A client connected.
    fn connect(&self, peer: SocketAddr) -> Self::Connection;
}

/// One connection's questions. Each answer is sent to the client as is.
pub trait Connection: Send + 'static {
    /// MAIL FROM.
    fn mail(&mut self, peer: &Peer, from: MailFrom) -> impl Future<Output = Reply> + Send;
    /// RCPT TO, after the session's own checks (domain, count).
    fn rcpt(&mut self, to: String) -> impl Future<Output = Reply> + Send;
    /// The whole message after DATA.
    fn message(&mut self, peer: &Peer, data: Vec<u8>) -> impl Future<Output = Reply> + Send;
    /// The transaction was abandoned.
    fn reset(&mut self) -> impl Future<Output = ()> + Send;
    /// The client is gone.
    fn close(self) -> impl Future<Output = ()> + Send;
}

/// How a listener treats its clients.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Protocol settings shared by every session.
    pub session: Arc<SessionConfig>,
    /// Connections at once; beyond it a client is answered 421 at once.
    pub max_connections: usize,
    /// Connections at once from one address.
    pub max_connections_per_ip: usize,
    /// Connections and messages per time window from one address.
    pub rates: RateLimits,
    /// Networks allowed to connect at all.
    pub client_networks: Vec<IpNet>,
    /// The deadline of one request (Postfix's `smtpd_timeout` with
    /// `smtpd_per_request_deadline`): a whole command line must arrive
    /// within it, however it trickles in, and no read waits longer.
    pub read_timeout: Duration,
    /// During DATA the deadline grows by one second per this many bytes
    /// received (Postfix `smtpd_min_data_rate`): a message must arrive
    /// within `read_timeout` plus its size at this rate.
    pub min_data_rate: u64,
    /// The longest a session may last, messages and all.
    pub session_timeout: Duration,
    /// Longest wait for the client to take our reply.
    pub write_timeout: Duration,
    /// STARTTLS, when configured.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// How long open sessions may finish after shutdown began.
    pub shutdown_grace: Duration,
}

/// An SMTP server: a config and a handler.
#[derive(Debug)]
pub struct Server<H> {
    config: Arc<ServerConfig>,
    handler: Arc<H>,
}

/// Counts connections per client address; the guard gives the slot back.
#[derive(Debug, Default)]
struct PerIp(Mutex<HashMap<IpAddr, usize>>);

struct PerIpGuard {
    table: Arc<PerIp>,
    ip: IpAddr,
}

impl PerIp {
    fn enter(self: &Arc<Self>, ip: IpAddr, max: usize) -> Option<PerIpGuard> {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let count = map.entry(ip).or_insert(0);
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(PerIpGuard {
            table: Arc::clone(self),
            ip,
        })
    }
}

impl Drop for PerIpGuard {
    fn drop(&mut self) {
        let mut map = self.table.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = map.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                map.remove(&self.ip);
            }
        }
    }
}

impl<H: Handler> Server<H> {
    /// A server that will answer with `handler`.
    pub fn new(config: ServerConfig, handler: Arc<H>) -> Self {
        Self {
            config: Arc::new(config),
            handler,
        }
    }

    /// Accepts connections until `shutdown` is cancelled, then tells every
    /// session `421` at its next read and waits up to the grace period for
    /// them to finish. A message being processed is finished, not cut off.
    pub async fn serve(self, listener: TcpListener, shutdown: CancellationToken) {
        let permits = Arc::new(Semaphore::new(self.config.max_connections));
        let per_ip = Arc::new(PerIp::default());
        let rates = Arc::new(Rates::new(self.config.rates));
        let mut sessions = JoinSet::new();
        let mut backoff = Duration::from_millis(10);
        loop {
            let (stream, peer) = tokio::select! {
                _ = shutdown.cancelled() => break,
                accepted = listener.accept() => match accepted {
                    Ok(a) => {
                        backoff = Duration::from_millis(10);
                        a
                    }
                    Err(e) => {
                        // Out of file descriptors and the like: wait, then retry.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(Duration::from_secs(1));
                        continue;
                    }
                },
            };
            while sessions.try_join_next().is_some() {}
            // The slot is taken after accept: at the limit a client hears
            // 421 at once instead of waiting in the backlog in silence.
            let permit = Arc::clone(&permits).try_acquire_owned();
            let config = Arc::clone(&self.config);
            let handler = Arc::clone(&self.handler);
            let token = shutdown.child_token();
            let per_ip = Arc::clone(&per_ip);
            let rates = Arc::clone(&rates);
            sessions.spawn(async move {
                let Ok(_permit) = permit else {
                    tracing::info!(%peer, "refused: all connection slots in use");
                    let reply = Reply::new(421, "4.3.2", "too many connections, try again later");
                    refuse(stream, reply, &config).await;
                    return;
                };
                let ip = peer.ip();
                if !config.client_networks.iter().any(|n| n.contains(&ip)) {
                    tracing::info!(%peer, "refused: not an allowed client network");
                    refuse(stream, Reply::new(554, "5.7.1", "access denied"), &config).await;
                    return;
                }
                let Some(_slot) = per_ip.enter(ip, config.max_connections_per_ip) else {
                    tracing::info!(%peer, "refused: too many connections from this address");
                    let reply = Reply::new(421, "4.7.0", "too many connections from your address");
                    refuse(stream, reply, &config).await;
                    return;
                };
                if !rates.allow(ip, rate::Event::Connection, Instant::now()) {
                    tracing::info!(%peer, "refused: connection rate limit");
                    let reply = Reply::new(
                        421,
                        "4.7.0",
                        "too many connections from your address, try again later",
                    );
                    refuse(stream, reply, &config).await;
                    return;
                }
                let driven = drive(stream, peer, &config, &rates, handler.as_ref(), token).await;
                if let Err(e) = driven {
                    tracing::debug!(%peer, error = %e, "session ended with an error");
                }
            });
        }
        drop(listener);
        let drain = async { while sessions.join_next().await.is_some() {} };
        if tokio::time::timeout(self.config.shutdown_grace, drain)
            .await
            .is_err()
        {
            tracing::warn!("sessions still open after the grace period; aborting them");
            sessions.shutdown().await;
        }
    }
}

async fn refuse(mut stream: TcpStream, reply: Reply, config: &ServerConfig) {
    let _ = tokio::time::timeout(config.write_timeout, stream.write_all(&reply.to_wire())).await;
}

/// The client's connection, before or after STARTTLS.
enum Stream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
    /// Only during the handshake.
    Gone,
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            Stream::Gone => Poll::Ready(Err(io::ErrorKind::NotConnected.into())),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
            Stream::Gone => Poll::Ready(Err(io::ErrorKind::NotConnected.into())),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
            Stream::Gone => Poll::Ready(Ok(())),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
            Stream::Gone => Poll::Ready(Ok(())),
        }
    }
}

/// Runs one session to its end.
async fn drive<H: Handler>(
    tcp: TcpStream,
    peer: SocketAddr,
    config: &ServerConfig,
    rates: &Rates,
    handler: &H,
    shutdown: CancellationToken,
) -> io::Result<()> {
    tcp.set_nodelay(true)?;
    let mut stream = Stream::Plain(tcp);
    let mut session = Session::new(Arc::clone(&config.session), peer.ip());
    let mut connection = handler.connect(peer);
    let mut out = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    let mut deadline = Deadline::new(config);
    let result = loop {
        let mut close = false;
        while let Some(event) = session.next_event() {
            match event {
                Event::Reply(r) => out.extend_from_slice(&r.to_wire()),
                Event::Mail(from) => {
                    let reply = if rates.allow(peer.ip(), rate::Event::Message, Instant::now()) {
                        connection.mail(session.peer(), from).await
                    } else {
                        tracing::info!(%peer, "deferred: message rate limit");
                        Reply::new(
                            450,
                            "4.7.1",
                            "too much mail from your address, try again later",
                        )
                    };
                    session.answer(reply);
                }
                Event::Rcpt(to) => {
                    let reply = connection.rcpt(to).await;
                    session.answer(reply);
                }
                Event::Message(data) => {
                    let reply = connection.message(session.peer(), data).await;
                    session.answer(reply);
                }
                Event::Reset => connection.reset().await,
                Event::StartTls => {
                    if write_out(&mut stream, &mut out, config).await.is_err() {
                        close = true;
                        break;
                    }
                    let plain = std::mem::replace(&mut stream, Stream::Gone);
                    stream = match starttls(plain, config).await {
                        Ok(s) => s,
                        Err(e) => {
                            close = true;
                            tracing::info!(%peer, error = %e, "TLS handshake failed");
                            break;
                        }
                    };
                    session.tls_started();
                }
                Event::Close => {
                    close = true;
                    break;
                }
            }
        }
        if let Err(e) = write_out(&mut stream, &mut out, config).await {
            break Err(e);
        }
        if close {
            let _ = stream.shutdown().await;
            break Ok(());
        }
        // Every buffered command has been answered; wait for more.
        let until = deadline.next(session.progress());
        let read = tokio::select! {
            _ = shutdown.cancelled() => {
                session.close_with(Reply::new(421, "4.3.2", "shutting down, try again later"));
                continue;
            }
            r = tokio::time::timeout_at(until, stream.read(&mut buf)) => r,
        };
        match read {
            Err(_) => {
                tracing::info!(%peer, "closed: deadline passed");
                session.close_with(Reply::new(421, "4.4.2", "timeout exceeded, closing"));
            }
            Ok(Ok(0)) => break Ok(()),
            Ok(Ok(n)) => {
                deadline.received(n);
                session.receive(&buf[..n]);
            }
            Ok(Err(e)) => break Err(e),
        }
    };
    connection.close().await;
    result
}

/// When the client must have sent what it owes: a whole command line
/// within `read_timeout` of the previous one; a message within
/// `read_timeout` plus its size at `min_data_rate`; everything within
/// `session_timeout`; and never a read longer than `read_timeout`. A
/// client that trickles a byte at a time keeps no slot longer than a
/// client that sends nothing.
struct Deadline<'c> {
    config: &'c ServerConfig,
    session_ends: tokio::time::Instant,
    /// The progress the current request started from, when, and the
    /// bytes read by then.
    request: ((u64, bool), tokio::time::Instant, u64),
    read: u64,
}

impl<'c> Deadline<'c> {
    fn new(config: &'c ServerConfig) -> Self {
        let now = tokio::time::Instant::now();
        Self {
            config,
            session_ends: now + config.session_timeout,
            request: ((0, false), now, 0),
            read: 0,
        }
    }

    fn received(&mut self, n: usize) {
        self.read += n as u64;
    }

    /// The deadline of the next read, given where the session is.
    fn next(&mut self, progress: (u64, bool)) -> tokio::time::Instant {
        let now = tokio::time::Instant::now();
        if progress != self.request.0 {
            self.request = (progress, now, self.read);
        }
        let ((_, in_data), started, base) = self.request;
        let mut request_ends = started + self.config.read_timeout;
        if in_data {
            let rate = self.config.min_data_rate.max(1);
            request_ends += Duration::from_secs((self.read - base) / rate);
        }
        request_ends
            .min(self.session_ends)
            .min(now + self.config.read_timeout)
    }
}

async fn write_out(
    stream: &mut Stream,
    out: &mut Vec<u8>,
    config: &ServerConfig,
) -> io::Result<()> {
    if out.is_empty() {
        return Ok(());
    }
    let write = async {
        stream.write_all(out).await?;
        stream.flush().await
    };
    match tokio::time::timeout(config.write_timeout, write).await {
        Ok(r) => {
            out.clear();
            r
        }
        Err(_) => Err(io::ErrorKind::TimedOut.into()),
    }
}

async fn starttls(stream: Stream, config: &ServerConfig) -> io::Result<Stream> {
    let (Stream::Plain(tcp), Some(tls)) = (stream, &config.tls) else {
        return Err(io::Error::other("STARTTLS without TLS configured"));
    };
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::clone(tls));
    match tokio::time::timeout(config.read_timeout, acceptor.accept(tcp)).await {
        Ok(Ok(s)) => Ok(Stream::Tls(Box::new(s))),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(io::ErrorKind::TimedOut.into()),
    }
}
