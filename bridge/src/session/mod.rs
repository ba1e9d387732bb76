//! One browser session: one WebSocket, the client sockets it opened, and its outbox.
//!
//! The session reads commands from the browser and hands each to the socket it names; every
//! socket runs in its own task and reports what the kernel did through the session's
//! [`Outbox`]. A writer drains the outbox into the WebSocket. When the WebSocket closes (the tab
//! was closed, the network went away), the session ends and every socket it owned is closed with
//! it: nothing outlives its session.
//!
//! A session also ends when the bridge ends it, always with a close frame that says why (the
//! console shows it in the learner's language): [`CLOSE_IDLE`] after `--idle-timeout` without a
//! command, 1009 for a frame over the size limit, 1001 when the bridge shuts down. A browser that
//! vanished without closing is noticed by its silence: the bridge pings every [`PING_EVERY`] and
//! browsers answer by themselves; nothing heard for two of those, and the session ends.

mod file;
mod lab;
mod sockets;
mod tcp;
mod udp;
mod watch;

use crate::Shared;
use crate::outbox::{Outbox, OutboxReceiver};
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use protocol::{ErrorCode, EventBody};
use sockets::Sockets;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::time::Instant;

pub(crate) use lab::MAX_LAB_SERVERS;

/// The close code of a session the bridge closed for being idle (an application code: 4000–4999
/// are the application's own in RFC 6455).
pub(crate) const CLOSE_IDLE: u16 = 4000;
/// RFC 6455's "message too big" and "going away".
const CLOSE_TOO_BIG: u16 = 1009;
const CLOSE_GOING_AWAY: u16 = 1001;

/// How often the bridge pings a quiet browser. Browsers answer pings by themselves, so a
/// console that hears nothing still answers; one that is gone (a laptop closed, a network
/// dropped without a FIN) stops answering, and after two periods of silence the session ends.
pub(crate) const PING_EVERY: Duration = Duration::from_secs(30);

/// Events written to the WebSocket before one flush. Events that are ready leave in one write
/// (one TCP segment when small), not one each; the bound keeps one flush's bytes bounded too.
pub(crate) const WRITE_BATCH: usize = 64;

/// How long an event nobody waits for (see `write`) may wait to share a write with others:
/// far below what a person notices, and long enough that an echo's events travel together.
pub(crate) const FLUSH_DELAY: Duration = Duration::from_millis(1);

/// After the session decided to end, how long its writer has to send what is queued and the
/// close frame to a browser that may be slow to read.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// What a session's socket tasks can be told.
pub(crate) enum SockCmd {
    /// One `send()` (TCP), one datagram (UDP), or the next piece of an uploaded file.
    Send(Vec<u8>),
    /// Several `send()`s right after each other (TCP).
    Burst(Vec<Vec<u8>>),
    /// Close (TCP, UDP) or cancel (file).
    Close,
}

/// Answers the commands still queued for socket `id` once it can carry out none of them (its
/// `connect()` failed, it was closed, or its stream ended): each gets an `unknown_id` error
/// saying why (`why` names the socket and what happened to it), so no command is lost without
/// a word. The queue is closed first, so commands that come later get `unknown_id` from
/// the session itself.
pub(crate) async fn refuse_waiting(
    cmds: &mut tokio::sync::mpsc::Receiver<SockCmd>,
    id: protocol::SocketId,
    outbox: &Outbox,
    why: &str,
) -> Result<(), crate::outbox::SessionGone> {
    cmds.close();
    while cmds.try_recv().is_ok() {
        let message = format!("{why}: this command was not carried out");
        let body = crate::os_error::refused(id, ErrorCode::UnknownId, message);
        outbox.push(body).await?;
    }
    Ok(())
}

/// How the bridge runs a session.
pub(crate) struct Settings {
    /// Close the session after this long without a command.
    pub(crate) idle: Duration,
    /// The largest frame the WebSocket accepts (for the 1009 close's words).
    pub(crate) max_frame: usize,
    /// Becomes `true` when the bridge shuts down.
    pub(crate) stop: tokio::sync::watch::Receiver<bool>,
}

/// Runs a session until its WebSocket closes or the bridge closes it.
pub(crate) async fn run(ws: WebSocket, shared: Arc<Shared>, settings: Settings) {
    let (outbox, outbox_rx) = Outbox::new();
    let outbox = Arc::new(outbox);
    shared.observers.join(&outbox);
    let (sink, stream) = ws.split();
    let (close_tx, close_rx) = oneshot::channel();

    let reader = async {
        let end = read(stream, &shared, &outbox, settings).await;
        // Every socket of the session is closed by now (`read` owned them). Let the writer send
        // what is queued and the close frame, then end.
        let _ = close_tx.send(end);
        tokio::time::sleep(CLOSE_GRACE).await;
    };
    let writer = write(sink, outbox_rx, &outbox, close_rx);
    // Whichever side ends first ends the session.
    tokio::select! {
        () = reader => {}
        () = writer => {}
    }
    tracing::debug!("session ended");
}

/// Reads commands until the browser leaves or the session must end; returns the close frame to
/// send, if any.
async fn read(
    mut stream: SplitStream<WebSocket>,
    shared: &Arc<Shared>,
    outbox: &Arc<Outbox>,
    mut settings: Settings,
) -> Option<CloseFrame> {
    let hello = EventBody::Hello {
        tcp_server: shared.tcp_target,
        udp_server: shared.udp_target,
        tcp_server6: shared.tcp_target6,
        udp_server6: shared.udp_target6,
        limits: shared.limits,
        show_other_clients: shared.observers.shows_others(),
        capture: shared.capture.clone(),
        impair: shared.impair_state.clone(),
        started_unix_us: outbox.started_unix_us(),
        bridge_version: env!("CARGO_PKG_VERSION").to_string(),
        kernel: shared.kernel.clone(),
    };
    outbox.push(hello).await.ok()?;
    let mut sockets = Sockets::new(shared.clone(), outbox.clone());
    let mut last_command = Instant::now();
    let mut last_heard = Instant::now();
    // One timer for both deadlines (idle, silent), moved only when it fires: resetting a timer
    // on every frame would cost more than the frame.
    let check = tokio::time::sleep(PING_EVERY.min(settings.idle));
    tokio::pin!(check);
    let close = |code: u16, reason: String| {
        Some(CloseFrame {
            code,
            reason: reason.into(),
        })
    };
    loop {
        tokio::select! {
            frame = stream.next() => {
                last_heard = Instant::now();
                match frame {
                    Some(Ok(Message::Text(text))) => {
                        last_command = Instant::now();
                        // Boxed: carrying out a command is a large state machine, and an idle
                        // session should not hold its room while it waits for the next one.
                        Box::pin(sockets.handle(&text)).await.ok()?;
                    }
                    Some(Ok(Message::Binary(_))) => {
                        let error = EventBody::Error {
                            id: None,
                            server: None,
                            code: ErrorCode::BinaryFrame,
                            message: "binary frames are not part of the protocol: send JSON \
                                      text frames (payload bytes go in \"data\" as base64)"
                                .into(),
                            os: None,
                        };
                        outbox.push(error).await.ok()?;
                    }
                    // Pings are answered by the WebSocket library itself.
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                    Some(Ok(Message::Close(_))) | None => return None,
                    Some(Err(e)) if too_big(&e) => {
                        let max = settings.max_frame;
                        return close(CLOSE_TOO_BIG, format!("a frame over {max} bytes"));
                    }
                    Some(Err(e)) => {
                        tracing::debug!("session ended by a WebSocket error: {e}");
                        return None;
                    }
                }
            }
            Some(done) = sockets.next_finished() => sockets.forget(done),
            () = &mut check => {
                let (idle_at, silent_at) = (last_command + settings.idle, last_heard + 2 * PING_EVERY);
                let now = Instant::now();
                if now >= idle_at {
                    let seconds = settings.idle.as_secs();
                    return close(CLOSE_IDLE, format!("idle for {seconds} s: no command from this console"));
                }
                if now >= silent_at {
                    tracing::debug!("session ended: the browser stopped answering pings");
                    return None;
                }
                check.as_mut().reset(idle_at.min(silent_at));
            }
            () = crate::serve::until_stopped(&mut settings.stop) => {
                return close(CLOSE_GOING_AWAY, "the bridge is shutting down".into());
            }
        }
    }
}

/// Is this the WebSocket library refusing a frame or message over the size limit?
fn too_big(e: &axum::Error) -> bool {
    let inner = std::error::Error::source(e);
    matches!(
        inner.and_then(|i| i.downcast_ref::<tungstenite::Error>()),
        Some(tungstenite::Error::Capacity(_))
    )
}

/// Drains the outbox into the WebSocket, pings a quiet browser, and sends the close frame when
/// the reader says the session ends.
///
/// Writes are what a busy bridge spends its time on (one system call each), so events share
/// them: whatever is queued goes out in one write, and events nobody is waiting for (a `send()`
/// reported, the server's side, packets, kernel state) wait up to [`FLUSH_DELAY`] for company.
/// An answer the learner waits for (an echo, a connect, an error, …) flushes at once, taking the
/// waiting ones with it: an echo's whole story leaves in one write.
async fn write(
    mut sink: SplitSink<WebSocket, Message>,
    mut rx: OutboxReceiver,
    outbox: &Outbox,
    mut close: oneshot::Receiver<Option<CloseFrame>>,
) {
    let mut ping = tokio::time::interval_at(Instant::now() + PING_EVERY, PING_EVERY);
    let flush_at = tokio::time::sleep(FLUSH_DELAY);
    tokio::pin!(flush_at);
    let mut pending = false;
    loop {
        tokio::select! {
            biased;
            event = rx.recv() => {
                let Some(event) = event else { return };
                let Ok(urgent) = feed_ready(&mut sink, event, &mut rx, outbox).await else {
                    return;
                };
                if urgent {
                    if sink.flush().await.is_err() {
                        return;
                    }
                    pending = false;
                } else if !pending {
                    pending = true;
                    flush_at.as_mut().reset(Instant::now() + FLUSH_DELAY);
                }
            }
            () = &mut flush_at, if pending => {
                if sink.flush().await.is_err() {
                    return;
                }
                pending = false;
            }
            end = &mut close => {
                while let Some(event) = rx.try_recv() {
                    if feed_ready(&mut sink, event, &mut rx, outbox).await.is_err() {
                        return;
                    }
                }
                let _ = match end {
                    Ok(Some(frame)) => sink.send(Message::Close(Some(frame))).await,
                    _ => sink.close().await,
                };
                return;
            }
            _ = ping.tick() => {
                // `send` flushes whatever was waiting too.
                if sink.send(Message::Ping(Default::default())).await.is_err() {
                    return;
                }
                pending = false;
            }
        }
    }
}

/// Is someone waiting for this event (so it should leave now)?
fn awaited(body: &EventBody) -> bool {
    !matches!(
        body,
        EventBody::TcpSent { .. }
            | EventBody::UdpSent { .. }
            | EventBody::Server { .. }
            | EventBody::Packet { .. }
            | EventBody::TcpState { .. }
            | EventBody::TcpClosing { .. }
            | EventBody::ListenQueue { .. }
            | EventBody::KernelSockets { .. }
            | EventBody::FileProgress { .. }
            | EventBody::OtherClient { .. }
            | EventBody::UdpDropped { .. }
    )
}

/// Feeds `first` and whatever else is queued (up to [`WRITE_BATCH`]) to the WebSocket without
/// flushing; returns whether any of it is [`awaited`] (or the batch is full): then the caller
/// flushes now. A report of dropped events goes right after the event it was found with, stamped
/// with that event's time, so `t_us` never goes back in the stream.
async fn feed_ready(
    sink: &mut SplitSink<WebSocket, Message>,
    first: Box<protocol::Event>,
    rx: &mut OutboxReceiver,
    outbox: &Outbox,
) -> Result<bool, axum::Error> {
    let mut next = Some(first);
    let mut written = 0;
    let mut urgent = false;
    while let Some(event) = next.take() {
        let t_us = event.t_us;
        urgent |= awaited(&event.body);
        sink.feed(Message::Text(event.to_json().into())).await?;
        if let Some(report) = outbox.take_dropped(t_us) {
            sink.feed(Message::Text(report.to_json().into())).await?;
        }
        written += 1;
        if written < WRITE_BATCH {
            next = rx.try_recv();
        }
    }
    Ok(urgent || written == WRITE_BATCH)
}
