//! The server's side of a websocket (RFC 6455), made for fan-out: the handshake, messages read
//! from a client, and text frames written from a buffer shared by every client.
//!
//! Why not a general websocket crate: the fan-out sends one text, made once (`hub::Frame`), to
//! thousands of clients. A general implementation copies every message into a per-connection
//! output buffer that keeps the capacity of the largest message it ever sent (after a burst,
//! every client holds a copy of the burst's size for as long as it stays connected), and keeps
//! a read buffer of its own per connection. Here a frame is written with one `writev` of a
//! 2–10 byte header and the shared text (nothing copied, nothing kept), several frames waiting
//! for a client that fell behind with one `writev` of them all ([`Socket::send_texts`]), and the
//! read buffer starts at [`READ_CHUNK`] bytes and goes back to it after a longer message.
//!
//! What it does: HTTP/1.1 upgrade (`Sec-WebSocket-Version: 13`, no extensions, no
//! subprotocol); client frames must be masked; fragmented messages are joined (control frames
//! may come between the fragments); text must be UTF-8; a message longer than the limit is
//! refused from its header, before its payload is read. Answering pings, pinging and closing
//! are the caller's (see `ws`), so that reading stays cancel-safe: [`Socket::recv`] only
//! awaits a read, and a read that did not complete consumed nothing.
//!
//! ```no_run
//! # async fn demo(upgraded: hyper::upgrade::Upgraded) -> Result<(), yiping_server::socket::SocketError> {
//! use yiping_server::socket::{Incoming, Socket};
//! let mut socket = Socket::new(upgraded, 64 * 1024);
//! // The connection's ping interval doubles as the watch on sends (see `STALL_TICKS`).
//! let mut watch = tokio::time::interval(std::time::Duration::from_secs(15));
//! while let Ok(msg) = socket.recv().await {
//!     match msg {
//!         Incoming::Text(text) => socket.send_text(text.as_bytes(), &mut watch).await?,
//!         Incoming::Ping(payload) => socket.send_control(yiping_server::socket::PONG, &payload, &mut watch).await?,
//!         Incoming::Close(_) => break,
//!         Incoming::Binary(_) | Incoming::Pong => {}
//!     }
//! }
//! # Ok(()) }
//! ```

use std::io::IoSlice;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use base64::Engine as _;
use hyper_util::rt::TokioIo;
use sha1::Digest as _;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::sync::OrPoisoned;

/// Bytes a connection reads at a time, and the read buffer it keeps between messages.
pub const READ_CHUNK: usize = 512;
/// A frame the client has not taken when the sender's watch interval (the connection's ping
/// interval) has ticked this many times ends the connection: a frozen page whose machine still
/// acknowledges TCP would otherwise hold its connection, and the kernel's buffers for it, for
/// ever. The watch is a timer the connection has anyway: a deadline of its own on every write
/// that waits cost the saturated fan-out about 10 % more CPU (`scripts/peers-fanout.sh`).
pub const STALL_TICKS: u32 = 3;
/// After sending a close: how long, and how many bytes, the rest of what the client sends is
/// read and dropped before the socket is closed.
const LINGER: std::time::Duration = std::time::Duration::from_secs(2);
const LINGER_BYTES: usize = 256 * 1024;

/// Opcode of a ping frame.
pub const PING: u8 = 0x9;
/// Opcode of a pong frame.
pub const PONG: u8 = 0xA;
const CONTINUATION: u8 = 0x0;
/// Opcode of a text frame.
pub const TEXT: u8 = 0x1;
const BINARY: u8 = 0x2;
const CLOSE: u8 = 0x8;

/// Close codes (RFC 6455 §7.4.1) this side sends.
pub mod close {
    /// Normal closure.
    pub const NORMAL: u16 = 1000;
    /// A frame that breaks the protocol.
    pub const PROTOCOL: u16 = 1002;
    /// Text that is not UTF-8.
    pub const INVALID_DATA: u16 = 1007;
    /// A message over the limit.
    pub const TOO_BIG: u16 = 1009;
}

/// Why a connection cannot go on. [`SocketError::close_code`] says what to tell the client.
#[derive(Debug, thiserror::Error)]
pub enum SocketError {
    /// The connection failed or the client went away.
    #[error("connection: {0}")]
    Io(#[from] std::io::Error),
    /// The client closed the TCP connection.
    #[error("the client closed the connection")]
    Eof,
    /// A frame that breaks RFC 6455.
    #[error("protocol: {0}")]
    Protocol(String),
    /// A text message that is not UTF-8.
    #[error("a text message is not valid UTF-8")]
    NotUtf8,
    /// The client did not take a frame for [`STALL_TICKS`] ticks of the watch: it stopped reading.
    #[error("the client took nothing of a frame for {STALL_TICKS} ticks of its ping interval")]
    Stalled,
    /// A message longer than the connection's limit.
    #[error("message too long: {size} bytes, the limit is {limit}")]
    TooBig {
        /// The message's length as far as known (its frames' lengths so far).
        size: u64,
        /// The limit.
        limit: usize,
    },
}

impl SocketError {
    /// The close code to send for this error, if the connection can still take one.
    pub fn close_code(&self) -> Option<u16> {
        match self {
            SocketError::Io(_) | SocketError::Eof | SocketError::Stalled => None,
            SocketError::Protocol(_) => Some(close::PROTOCOL),
            SocketError::NotUtf8 => Some(close::INVALID_DATA),
            SocketError::TooBig { .. } => Some(close::TOO_BIG),
        }
    }
}

/// A whole message from the client.
#[derive(Debug, PartialEq, Eq)]
pub enum Incoming {
    /// A text message.
    Text(String),
    /// A binary message.
    Binary(Vec<u8>),
    /// A ping: answer it with a pong carrying the same payload.
    Ping(Vec<u8>),
    /// A pong.
    Pong,
    /// The client closes, with its code if it gave one.
    Close(Option<u16>),
}

/// Why a request is not a websocket upgrade this side accepts.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Not an upgrade, or a malformed one (400).
    NotUpgrade(String),
    /// A version other than 13 (426, with `Sec-WebSocket-Version: 13`, RFC 6455 §4.4).
    Version(String),
}

/// Check an HTTP request for a websocket upgrade; the value of `Sec-WebSocket-Accept` to answer
/// with, or why the request is not one.
pub fn accept_key(headers: &axum::http::HeaderMap) -> Result<String, Refusal> {
    use axum::http::header;
    let has = |name: header::HeaderName, token: &str| {
        headers
            .get_all(name)
            .iter()
            .any(|v| v.to_str().is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token))))
    };
    if !has(header::CONNECTION, "upgrade") {
        return Err(Refusal::NotUpgrade(
            "not a websocket upgrade: the Connection header does not name upgrade".into(),
        ));
    }
    if !has(header::UPGRADE, "websocket") {
        return Err(Refusal::NotUpgrade(
            "not a websocket upgrade: the Upgrade header does not name websocket".into(),
        ));
    }
    match headers.get(header::SEC_WEBSOCKET_VERSION).and_then(|v| v.to_str().ok()) {
        Some("13") => {}
        other => {
            return Err(Refusal::Version(format!(
                "Sec-WebSocket-Version {other:?}: only version 13 is spoken"
            )));
        }
    }
    let key = headers.get(header::SEC_WEBSOCKET_KEY).ok_or_else(|| {
        Refusal::NotUpgrade("not a websocket upgrade: Sec-WebSocket-Key is missing".to_owned())
    })?;
    let nonce = base64::engine::general_purpose::STANDARD.decode(key.as_bytes()).map_or(0, |k| k.len());
    if nonce != 16 {
        return Err(Refusal::NotUpgrade(format!("Sec-WebSocket-Key {key:?} is not 16 bytes in base64")));
    }
    let mut sha = sha1::Sha1::new();
    sha.update(key.as_bytes());
    sha.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    Ok(base64::engine::general_purpose::STANDARD.encode(sha.finalize()))
}

/// A fragmented message being received.
#[derive(Debug)]
struct Partial {
    text: bool,
    data: Vec<u8>,
}

/// One websocket connection, the server's side.
#[derive(Debug)]
pub struct Socket<Io = TokioIo<hyper::upgrade::Upgraded>> {
    /// The connection, shared with its [`Writer`] (the fan-out's frames); each read or write
    /// holds the lock for one poll only.
    io: Arc<Mutex<Io>>,
    /// Bytes read; those before `pos` are taken (compacted away before the next read, so a run
    /// of small frames costs no copying per frame).
    buf: Vec<u8>,
    pos: usize,
    partial: Option<Partial>,
    max_message: usize,
}

impl Socket {
    /// The connection an HTTP upgrade gave; messages longer than `max_message` are refused.
    pub fn new(upgraded: hyper::upgrade::Upgraded, max_message: usize) -> Socket {
        Socket::over(TokioIo::new(upgraded), max_message)
    }
}

impl<Io: AsyncRead + AsyncWrite + Unpin> Socket<Io> {
    /// A websocket over `io`, whose handshake is done.
    pub fn over(io: Io, max_message: usize) -> Socket<Io> {
        let io = Arc::new(Mutex::new(io));
        Socket { io, buf: Vec::with_capacity(READ_CHUNK), pos: 0, partial: None, max_message }
    }

    /// The connection's write side, for frames written from elsewhere (the fan-out, see
    /// [`Writer`]). Whoever writes must not cut into a frame another is writing: `ws` and
    /// `fanout` take turns.
    pub fn writer(&self) -> Writer<Io> {
        Writer { io: self.io.clone() }
    }

    /// Read what the connection has into the buffer's spare room (at least [`READ_CHUNK`] / 2
    /// bytes): how many bytes came, 0 at the end. Cancel-safe: the buffer changes only in the
    /// poll that completes.
    async fn read_more(&mut self) -> std::io::Result<usize> {
        let (io, buf) = (&self.io, &mut self.buf);
        std::future::poll_fn(|cx| {
            let len = buf.len();
            buf.resize(buf.capacity().max(len + READ_CHUNK / 2), 0);
            let mut rb = ReadBuf::new(&mut buf[len..]);
            let polled = Pin::new(&mut *io.lock().or_poisoned()).poll_read(cx, &mut rb);
            let n = rb.filled().len();
            buf.truncate(len + if matches!(polled, Poll::Ready(Ok(()))) { n } else { 0 });
            polled.map_ok(|()| n)
        })
        .await
    }

    async fn write_vectored(&self, parts: &[IoSlice<'_>]) -> std::io::Result<usize> {
        std::future::poll_fn(|cx| Pin::new(&mut *self.io.lock().or_poisoned()).poll_write_vectored(cx, parts))
            .await
    }

    /// The next whole message. Cancel-safe: only the read is awaited, and a frame is taken from
    /// the buffer only when it is complete.
    pub async fn recv(&mut self) -> Result<Incoming, SocketError> {
        loop {
            if let Some(msg) = self.take_frame()? {
                return Ok(msg);
            }
            if self.pos > 0 {
                self.buf.drain(..self.pos);
                self.pos = 0;
            }
            if self.buf.capacity() - self.buf.len() < READ_CHUNK / 2 {
                self.buf.reserve(READ_CHUNK);
            }
            if self.read_more().await? == 0 {
                return Err(SocketError::Eof);
            }
        }
    }

    /// Take one frame from the buffer if it is all there: a message when it completes one,
    /// `None` when more bytes are needed (or the frame was a fragment).
    fn take_frame(&mut self) -> Result<Option<Incoming>, SocketError> {
        loop {
            let Some((head, len)) = self.header()? else { return Ok(None) };
            let at = self.pos;
            let b0 = self.buf[at];
            let (fin, opcode) = (b0 & 0x80 != 0, b0 & 0x0F);
            // `header` bounds `len` by the message limit (or 125): no overflow.
            let total = head + len;
            if self.buf.len() - at < total {
                self.buf.reserve(total - (self.buf.len() - at));
                return Ok(None);
            }
            let frame = &self.buf[at..at + total];
            let mask = [frame[head - 4], frame[head - 3], frame[head - 2], frame[head - 1]];
            let mut payload = frame[head..].to_vec();
            for (i, b) in payload.iter_mut().enumerate() {
                *b ^= mask[i % 4];
            }
            self.pos += total;
            if self.pos == self.buf.len() {
                self.buf.clear();
                self.pos = 0;
                if self.buf.capacity() > READ_CHUNK {
                    self.buf.shrink_to(READ_CHUNK);
                }
            }
            let message = match opcode {
                TEXT | BINARY if self.partial.is_some() => {
                    return Err(SocketError::Protocol(
                        "a new message began before the last one ended".into(),
                    ));
                }
                TEXT | BINARY if fin => Some(whole(opcode == TEXT, payload)?),
                TEXT | BINARY => {
                    self.partial = Some(Partial { text: opcode == TEXT, data: payload });
                    None
                }
                CONTINUATION => {
                    let Some(p) = self.partial.as_mut() else {
                        return Err(SocketError::Protocol(
                            "a continuation frame with no message to continue".into(),
                        ));
                    };
                    p.data.extend_from_slice(&payload);
                    match (fin, self.partial.take()) {
                        (true, Some(p)) => Some(whole(p.text, p.data)?),
                        (_, p) => {
                            self.partial = p;
                            None
                        }
                    }
                }
                CLOSE => Some(Incoming::Close(close_frame_code(&payload)?)),
                PING => Some(Incoming::Ping(payload)),
                PONG => Some(Incoming::Pong),
                other => return Err(SocketError::Protocol(format!("unknown opcode {other:#x}"))),
            };
            if message.is_some() {
                return Ok(message);
            }
        }
    }

    /// The header of the buffer's first frame, checked: (header length, payload length), or
    /// `None` when not all of the header is there yet.
    fn header(&self) -> Result<Option<(usize, usize)>, SocketError> {
        let b = &self.buf[self.pos..];
        if b.len() < 2 {
            return Ok(None);
        }
        let (b0, b1) = (b[0], b[1]);
        if b0 & 0x70 != 0 {
            return Err(SocketError::Protocol("reserved bits set: no extension was agreed".into()));
        }
        if b1 & 0x80 == 0 {
            return Err(SocketError::Protocol("a client's frame must be masked".into()));
        }
        let opcode = b0 & 0x0F;
        let (len, at) = match b1 & 0x7F {
            126 if b.len() >= 4 => (u64::from(u16::from_be_bytes([b[2], b[3]])), 4),
            127 if b.len() >= 10 => {
                match u64::from_be_bytes([b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9]]) {
                    n if n >> 63 == 1 => {
                        return Err(SocketError::Protocol("a 64-bit length with its top bit set".into()));
                    }
                    n => (n, 10),
                }
            }
            126 | 127 => return Ok(None),
            n => (u64::from(n), 2),
        };
        if opcode >= CLOSE && (len > 125 || b0 & 0x80 == 0) {
            return Err(SocketError::Protocol("a control frame must be whole and at most 125 bytes".into()));
        }
        let so_far = self.partial.as_ref().map_or(0, |p| p.data.len() as u64);
        if opcode < CLOSE && so_far.saturating_add(len) > self.max_message as u64 {
            return Err(SocketError::TooBig { size: so_far.saturating_add(len), limit: self.max_message });
        }
        let head = at + 4;
        if b.len() < head {
            return Ok(None);
        }
        // At most `max_message` or 125: fits in usize.
        Ok(Some((head, len as usize)))
    }

    /// Send a text frame whose payload is `text` (UTF-8, as the caller guarantees), written
    /// straight from `text`: one `writev` of the header and the text. Gives up when `watch`
    /// ticks [`STALL_TICKS`] times first.
    pub async fn send_text(
        &mut self,
        text: &[u8],
        watch: &mut tokio::time::Interval,
    ) -> Result<(), SocketError> {
        self.send_watched(TEXT, text, watch).await
    }

    /// Send several text frames at once, as [`Socket::send_text`] sends one: one `writev` of
    /// every header and text (more only when the kernel takes part of them). A client that fell
    /// behind by several frames costs one system call, not one per frame, so the fan-out does
    /// less work exactly when it is late. At most [`MAX_FRAMES_PER_WRITE`] texts.
    pub async fn send_texts<T: std::ops::Deref<Target = str>>(
        &mut self,
        texts: &[T],
        watch: &mut tokio::time::Interval,
    ) -> Result<(), SocketError> {
        debug_assert!(texts.len() <= MAX_FRAMES_PER_WRITE);
        match texts {
            [] => Ok(()),
            [one] => self.send_watched(TEXT, one.as_bytes(), watch).await,
            _ => watched(self.send_frames(texts), watch).await,
        }
    }

    /// Send a control frame (ping, pong; close via [`Socket::close`]): `payload` at most 125
    /// bytes. Gives up as [`Socket::send_text`] does.
    pub async fn send_control(
        &mut self,
        opcode: u8,
        payload: &[u8],
        watch: &mut tokio::time::Interval,
    ) -> Result<(), SocketError> {
        debug_assert!(payload.len() <= 125);
        self.send_watched(opcode, &payload[..payload.len().min(125)], watch).await
    }

    /// A frame sent unless `watch` ticks [`STALL_TICKS`] times first. A frame written at once
    /// (nearly all) never polls the watch.
    async fn send_watched(
        &mut self,
        opcode: u8,
        payload: &[u8],
        watch: &mut tokio::time::Interval,
    ) -> Result<(), SocketError> {
        watched(self.send_frame(opcode, payload), watch).await
    }

    /// Close with `code` and a reason (cut to the 123 bytes a close frame has room for, at a
    /// character boundary).
    pub async fn close(&mut self, code: u16, reason: &str) -> Result<(), SocketError> {
        let mut end = reason.len().min(123);
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        let mut payload = Vec::with_capacity(2 + end);
        payload.extend_from_slice(&code.to_be_bytes());
        payload.extend_from_slice(&reason.as_bytes()[..end]);
        // A client that takes nothing does not hold the close up (a rare path: its own timer).
        tokio::time::timeout(LINGER, async {
            self.send_frame(CLOSE, &payload).await?;
            std::future::poll_fn(|cx| Pin::new(&mut *self.io.lock().or_poisoned()).poll_shutdown(cx))
                .await
                .map_err(SocketError::from)
        })
        .await
        .map_err(|_| SocketError::Stalled)??;
        // Read (and drop) what the client still sends, until it closes too, for a while: closing
        // a socket with unread bytes makes the kernel reset it, and a reset can overtake the close
        // frame (the client would see 1006, not why).
        let mut left = LINGER_BYTES;
        let _ = tokio::time::timeout(LINGER, async {
            while left > 0 {
                self.buf.clear();
                self.pos = 0;
                match self.read_more().await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => left = left.saturating_sub(n),
                }
            }
        })
        .await;
        self.buf = Vec::new();
        Ok(())
    }

    async fn send_frame(&self, opcode: u8, payload: &[u8]) -> Result<(), SocketError> {
        let (head, head_len) = frame_header(opcode, payload.len());
        self.write_parts(&mut [IoSlice::new(&head[..head_len]), IoSlice::new(payload)]).await
    }

    /// Text frames of `payloads`, in order, written with as few `writev`s as the kernel allows.
    async fn send_frames<T: std::ops::Deref<Target = str>>(&self, payloads: &[T]) -> Result<(), SocketError> {
        let texts: Vec<&[u8]> = payloads.iter().map(|p| p.as_bytes()).collect();
        let mut heads = Vec::new();
        let mut parts = text_parts(&mut heads, &texts);
        self.write_parts(&mut parts).await
    }

    /// Send bytes that continue what was written before (the rest of frames the fan-out began,
    /// see [`Writer::try_write`]), given up as [`Socket::send_text`] gives up.
    pub async fn send_rest(
        &mut self,
        rest: &[u8],
        watch: &mut tokio::time::Interval,
    ) -> Result<(), SocketError> {
        watched(self.write_parts(&mut [IoSlice::new(rest)]), watch).await
    }

    /// Every byte of `parts`, in order: one `writev`, more when the kernel takes part of them.
    async fn write_parts(&self, mut parts: &mut [IoSlice<'_>]) -> Result<(), SocketError> {
        while !parts.is_empty() {
            match self.write_vectored(parts).await? {
                0 => return Err(SocketError::Io(std::io::ErrorKind::WriteZero.into())),
                n => IoSlice::advance_slices(&mut parts, n),
            }
        }
        Ok(())
    }
}

/// Most frames [`Socket::send_texts`] takes at once (two slices each, well inside `IOV_MAX`).
pub const MAX_FRAMES_PER_WRITE: usize = 32;

/// A connection's write side, shared with its [`Socket`]: frames written without waiting, by a
/// thread that is not the connection's task (the fan-out, see `fanout`).
#[derive(Debug)]
pub struct Writer<Io> {
    io: Arc<Mutex<Io>>,
}

impl<Io: AsyncWrite + Unpin> Writer<Io> {
    /// Write what the kernel takes of `parts` now, without waiting: how many bytes it took
    /// (perhaps fewer than all), or `WouldBlock` when it took none. The connection's task is
    /// woken when the socket can take more only if it waits for that itself.
    pub fn try_write(&self, parts: &[IoSlice<'_>]) -> std::io::Result<usize> {
        let mut cx = Context::from_waker(std::task::Waker::noop());
        match Pin::new(&mut *self.io.lock().or_poisoned()).poll_write_vectored(&mut cx, parts) {
            Poll::Ready(r) => r,
            Poll::Pending => Err(std::io::ErrorKind::WouldBlock.into()),
        }
    }
}

/// Text frames of `texts` as slices to write at once: each text's header (kept in `heads`)
/// and the text.
pub fn text_parts<'a>(heads: &'a mut Vec<([u8; 10], usize)>, texts: &[&'a [u8]]) -> Vec<IoSlice<'a>> {
    heads.clear();
    heads.extend(texts.iter().map(|t| frame_header(TEXT, t.len())));
    let heads: &'a [([u8; 10], usize)] = heads;
    let mut parts = Vec::with_capacity(2 * texts.len());
    for ((head, len), text) in heads.iter().zip(texts) {
        parts.push(IoSlice::new(&head[..*len]));
        parts.push(IoSlice::new(text));
    }
    parts
}

/// `send` unless `watch` ticks [`STALL_TICKS`] times first. A send done at once (nearly all)
/// never polls the watch.
async fn watched(
    send: impl std::future::Future<Output = Result<(), SocketError>>,
    watch: &mut tokio::time::Interval,
) -> Result<(), SocketError> {
    tokio::pin!(send);
    let mut ticks = 0;
    loop {
        tokio::select! {
            biased;
            sent = &mut send => return sent,
            _ = watch.tick() => {
                ticks += 1;
                if ticks >= STALL_TICKS {
                    return Err(SocketError::Stalled);
                }
            }
        }
    }
}

/// A frame's header (RFC 6455 §5.2, server to client: final, unmasked) and its length in bytes.
pub fn frame_header(opcode: u8, len: usize) -> ([u8; 10], usize) {
    let mut head = [0u8; 10];
    head[0] = 0x80 | opcode;
    let head_len = if len < 126 {
        head[1] = len as u8;
        2
    } else if let Ok(n) = u16::try_from(len) {
        head[1] = 126;
        head[2..4].copy_from_slice(&n.to_be_bytes());
        4
    } else {
        head[1] = 127;
        head[2..10].copy_from_slice(&(len as u64).to_be_bytes());
        10
    };
    (head, head_len)
}

/// The code of a close frame's payload (RFC 6455 §5.5.1, §7.4): none, or a code a client may
/// send, and a UTF-8 reason.
fn close_frame_code(payload: &[u8]) -> Result<Option<u16>, SocketError> {
    match payload {
        [] => Ok(None),
        [_] => Err(SocketError::Protocol("a close frame with a 1-byte body".into())),
        [a, b, reason @ ..] => {
            let code = u16::from_be_bytes([*a, *b]);
            if !matches!(code, 1000..=1003 | 1007..=1011 | 3000..=4999) {
                return Err(SocketError::Protocol(format!("close code {code} may not be sent")));
            }
            std::str::from_utf8(reason).map_err(|_| SocketError::NotUtf8)?;
            Ok(Some(code))
        }
    }
}

/// A whole message's payload as a message (text checked as UTF-8).
fn whole(text: bool, payload: Vec<u8>) -> Result<Incoming, SocketError> {
    if text {
        String::from_utf8(payload).map(Incoming::Text).map_err(|_| SocketError::NotUtf8)
    } else {
        Ok(Incoming::Binary(payload))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A client's frame: masked with `mask`.
    fn client_frame(fin: bool, opcode: u8, payload: &[u8], mask: [u8; 4]) -> Vec<u8> {
        let mut f = vec![(if fin { 0x80 } else { 0 }) | opcode];
        match payload.len() {
            n if n < 126 => f.push(0x80 | n as u8),
            n if n <= 0xFFFF => {
                f.push(0x80 | 126);
                f.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                f.push(0x80 | 127);
                f.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        f.extend_from_slice(&mask);
        f.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        f
    }

    /// A socket over one end of an in-memory pipe; the other end to play the client.
    fn pair(max: usize) -> (Socket<tokio::io::DuplexStream>, tokio::io::DuplexStream) {
        let (a, b) = tokio::io::duplex(1 << 20);
        (Socket::over(a, max), b)
    }

    #[test]
    fn the_accept_key_is_rfc_6455s_example() {
        // RFC 6455 §1.3: key "dGhlIHNhbXBsZSBub25jZQ==" gives "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=".
        let mut h = axum::http::HeaderMap::new();
        h.insert("connection", "keep-alive, Upgrade".parse().expect("header"));
        h.insert("upgrade", "websocket".parse().expect("header"));
        h.insert("sec-websocket-version", "13".parse().expect("header"));
        h.insert("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==".parse().expect("header"));
        assert_eq!(accept_key(&h).as_deref(), Ok("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
        h.insert("sec-websocket-key", "c2hvcnQ=".parse().expect("header"));
        assert!(matches!(accept_key(&h), Err(Refusal::NotUpgrade(w)) if w.contains("16 bytes")));
        h.insert("sec-websocket-version", "8".parse().expect("header"));
        assert!(matches!(accept_key(&h), Err(Refusal::Version(w)) if w.contains("version 13")));
        h.remove("upgrade");
        assert!(matches!(accept_key(&h), Err(Refusal::NotUpgrade(w)) if w.contains("Upgrade header")));
    }

    #[tokio::test]
    async fn messages_arrive_whole_whatever_the_reads_and_fragments() {
        let (mut s, mut c) = pair(1 << 16);
        let long = "长".repeat(300); // 900 bytes: a 16-bit length
        let mut bytes = client_frame(true, TEXT, br#"{"op":"ping"}"#, [1, 2, 3, 4]);
        bytes.extend(client_frame(false, TEXT, &long.as_bytes()[..450], [9, 8, 7, 6]));
        bytes.extend(client_frame(true, PING, b"hi", [5, 5, 5, 5])); // between fragments
        bytes.extend(client_frame(true, CONTINUATION, &long.as_bytes()[450..], [0, 1, 0, 1]));
        bytes.extend(client_frame(true, BINARY, &[0, 1, 2], [7, 7, 7, 7]));
        bytes.extend(client_frame(true, CLOSE, &1000u16.to_be_bytes(), [3, 1, 4, 1]));
        // Written one byte at a time: every frame is cut everywhere.
        let writer = tokio::spawn(async move {
            for b in bytes {
                c.write_all(&[b]).await.expect("writes");
            }
            c
        });
        assert_eq!(s.recv().await.expect("text"), Incoming::Text(r#"{"op":"ping"}"#.into()));
        assert_eq!(s.recv().await.expect("ping"), Incoming::Ping(b"hi".to_vec()));
        assert_eq!(s.recv().await.expect("joined"), Incoming::Text(long));
        assert_eq!(s.recv().await.expect("binary"), Incoming::Binary(vec![0, 1, 2]));
        assert_eq!(s.recv().await.expect("close"), Incoming::Close(Some(1000)));
        drop(writer.await.expect("writer"));
        assert!(matches!(s.recv().await, Err(SocketError::Eof)));
        assert!(
            s.buf.capacity() <= READ_CHUNK,
            "the read buffer is back to {READ_CHUNK}: {}",
            s.buf.capacity()
        );
    }

    #[tokio::test]
    async fn broken_frames_are_refused_with_their_close_code() {
        let cases: [(Vec<u8>, u16); 11] = [
            (
                {
                    let mut f = client_frame(true, TEXT, b"x", [1, 1, 1, 1]);
                    f[1] &= 0x7F;
                    f.remove(2);
                    f
                },
                1002,
            ),
            (
                {
                    let mut f = client_frame(true, TEXT, b"x", [1, 1, 1, 1]);
                    f[0] |= 0x40;
                    f
                },
                1002,
            ),
            (client_frame(true, CONTINUATION, b"x", [1, 1, 1, 1]), 1002),
            (client_frame(false, PING, b"x", [1, 1, 1, 1]), 1002),
            (client_frame(true, TEXT, &[0xff, 0xfe], [1, 1, 1, 1]), 1007),
            (client_frame(true, 0x3, b"x", [1, 1, 1, 1]), 1002),
            (client_frame(true, CLOSE, &[3], [1, 1, 1, 1]), 1002),
            (client_frame(true, CLOSE, &1005u16.to_be_bytes(), [1, 1, 1, 1]), 1002),
            (client_frame(true, CLOSE, &[3, 232, 0xff], [1, 1, 1, 1]), 1007),
            // A 64-bit length with its top bit set.
            (vec![0x81, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4], 1002),
            // A fragment, then a continuation announcing 2^63 - 1 bytes: refused, no overflow.
            (
                {
                    let mut f = client_frame(false, TEXT, b"x", [1, 1, 1, 1]);
                    f.extend([0x80, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3, 4]);
                    f
                },
                1009,
            ),
        ];
        for (bytes, code) in cases {
            let (mut s, mut c) = pair(1 << 16);
            c.write_all(&bytes).await.expect("writes");
            let e = s.recv().await.expect_err("refused");
            assert_eq!(e.close_code(), Some(code), "{bytes:?}: {e}");
        }
    }

    #[tokio::test]
    async fn a_message_over_the_limit_is_refused_from_its_header() {
        let (mut s, mut c) = pair(1000);
        // Only the header of a 2,000-byte frame is sent: the refusal does not wait for the rest.
        let f = client_frame(true, TEXT, &[b'x'; 2000], [1, 2, 3, 4]);
        c.write_all(&f[..8]).await.expect("writes");
        let e = s.recv().await.expect_err("too big");
        assert_eq!(e.to_string(), "message too long: 2000 bytes, the limit is 1000");
        // Fragments count together.
        let (mut s, mut c) = pair(1000);
        c.write_all(&client_frame(false, TEXT, &[b'x'; 600], [1, 2, 3, 4])).await.expect("writes");
        c.write_all(&client_frame(true, CONTINUATION, &[b'x'; 600], [1, 2, 3, 4])).await.expect("writes");
        assert!(matches!(s.recv().await, Err(SocketError::TooBig { size: 1200, limit: 1000 })));
    }

    #[tokio::test(start_paused = true)]
    async fn a_client_that_stops_reading_is_given_up_after_the_watch_ticks() {
        let (a, _client) = tokio::io::duplex(4096);
        let mut s = Socket::over(a, 1 << 16);
        let every = std::time::Duration::from_secs(15);
        let t0 = tokio::time::Instant::now();
        let mut watch = tokio::time::interval_at(t0 + every, every);
        let text = "x".repeat(1000);
        // The pipe holds 4 KiB: four frames go at once, the fifth waits for a reader that never
        // comes.
        for _ in 0..4 {
            s.send_text(text.as_bytes(), &mut watch).await.expect("fits");
        }
        assert_eq!(t0.elapsed(), std::time::Duration::ZERO);
        assert!(matches!(s.send_text(text.as_bytes(), &mut watch).await, Err(SocketError::Stalled)));
        assert_eq!(t0.elapsed(), every * STALL_TICKS);
    }

    #[tokio::test]
    async fn frames_sent_have_the_right_header_for_every_length() {
        for n in [0usize, 125, 126, 65_535, 65_536, 200_000] {
            let (mut s, mut c) = pair(1 << 16);
            let text = "x".repeat(n);
            let reader = tokio::spawn(async move {
                let mut got = Vec::new();
                c.read_to_end(&mut got).await.expect("reads");
                got
            });
            s.send_text(text.as_bytes(), &mut tokio::time::interval(std::time::Duration::from_secs(15)))
                .await
                .expect("sends");
            s.close(close::NORMAL, "再见").await.expect("closes");
            drop(s);
            let got = reader.await.expect("reader");
            let (head, len) = match got[1] {
                126 => (4, usize::from(u16::from_be_bytes([got[2], got[3]]))),
                127 => (10, u64::from_be_bytes(got[2..10].try_into().expect("8 bytes")) as usize),
                l => (2, usize::from(l)),
            };
            assert_eq!((got[0], len), (0x81, n), "a final text frame of {n} bytes, unmasked");
            assert_eq!(&got[head..head + n], text.as_bytes());
            let close = &got[head + n..];
            assert_eq!(close[0], 0x88);
            assert_eq!(&close[2..4], &1000u16.to_be_bytes());
            assert_eq!(std::str::from_utf8(&close[4..]), Ok("再见"));
        }
    }

    /// The frames in `bytes` (server frames: unmasked), as (opcode, payload).
    fn split_frames(mut bytes: &[u8]) -> Vec<(u8, Vec<u8>)> {
        let mut out = Vec::new();
        while !bytes.is_empty() {
            assert_eq!(bytes[0] & 0xF0, 0x80, "final, no extension bits");
            let (head, len) = match bytes[1] {
                126 => (4, usize::from(u16::from_be_bytes([bytes[2], bytes[3]]))),
                127 => (10, u64::from_be_bytes(bytes[2..10].try_into().expect("8 bytes")) as usize),
                l => (2, usize::from(l)),
            };
            out.push((bytes[0] & 0x0F, bytes[head..head + len].to_vec()));
            bytes = &bytes[head + len..];
        }
        out
    }

    #[tokio::test]
    async fn several_frames_written_at_once_arrive_whole_and_in_order() {
        // A 7-byte pipe: every write takes a few bytes, so writes end inside headers, inside
        // texts and between frames.
        let (a, mut c) = tokio::io::duplex(7);
        let mut s = Socket::over(a, 1 << 16);
        let texts: Vec<String> = [0usize, 1, 125, 126, 65_535, 65_536, 3]
            .iter()
            .enumerate()
            .map(|(i, &n)| char::from(b'a' + i as u8).to_string().repeat(n))
            .collect();
        let reader = tokio::spawn(async move {
            let mut got = Vec::new();
            c.read_to_end(&mut got).await.expect("reads");
            got
        });
        let mut watch = tokio::time::interval(std::time::Duration::from_secs(15));
        watch.tick().await;
        s.send_texts(&texts, &mut watch).await.expect("sends");
        s.send_texts::<&str>(&[], &mut watch).await.expect("sends nothing");
        s.send_texts(&["last"], &mut watch).await.expect("sends one");
        drop(s);
        let frames = split_frames(&reader.await.expect("reader"));
        let want: Vec<(u8, Vec<u8>)> =
            texts.iter().map(String::as_str).chain(["last"]).map(|t| (TEXT, t.as_bytes().to_vec())).collect();
        assert_eq!(frames.len(), want.len());
        assert!(frames == want, "every text, whole, in order");
    }

    #[tokio::test(start_paused = true)]
    async fn frames_written_at_once_to_a_client_that_stops_reading_are_given_up_too() {
        let (a, _client) = tokio::io::duplex(64);
        let mut s = Socket::over(a, 1 << 16);
        let every = std::time::Duration::from_secs(15);
        let t0 = tokio::time::Instant::now();
        let mut watch = tokio::time::interval_at(t0 + every, every);
        let text = "x".repeat(100);
        let sent = s.send_texts(&[text.as_str(), text.as_str()], &mut watch).await;
        assert!(matches!(sent, Err(SocketError::Stalled)));
        assert_eq!(t0.elapsed(), every * STALL_TICKS);
    }
}
