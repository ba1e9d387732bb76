//! One browser session: one WebSocket, the client sockets it opened, and its outbox.
//!
//! The session reads commands from the browser and hands each to the socket it names; every
//! socket runs in its own task and reports what the kernel did through the session's
//! [`Outbox`]. A writer drains the outbox into the WebSocket. When the WebSocket closes (the tab
//! was closed, the network went away), the session ends and every socket it owned is closed with
//! it: nothing outlives its session.

mod file;
mod lab;
mod sockets;
mod tcp;
mod udp;

use crate::Shared;
use crate::outbox::Outbox;
use axum::extract::ws::{Message, WebSocket};
use futures_util::{SinkExt, StreamExt};
use protocol::{ErrorCode, EventBody};
use sockets::Sockets;
use std::sync::Arc;

/// What a session's socket tasks can be told.
pub(crate) enum SockCmd {
    /// One `send()` (TCP), one datagram (UDP), or the next piece of an uploaded file.
    Send(Vec<u8>),
    /// Several `send()`s right after each other (TCP).
    Burst(Vec<Vec<u8>>),
    /// Close (TCP, UDP) or cancel (file).
    Close,
}

/// Runs a session until its WebSocket closes.
pub(crate) async fn run(ws: WebSocket, shared: Arc<Shared>) {
    let (outbox, mut outbox_rx) = Outbox::new();
    let outbox = Arc::new(outbox);
    shared.observers.join(&outbox);
    let (mut sink, mut stream) = ws.split();

    let writer = {
        let outbox = outbox.clone();
        async move {
            while let Some(event) = outbox_rx.recv().await {
                let dropped = outbox.take_dropped();
                for event in dropped.into_iter().chain([event]) {
                    if sink
                        .send(Message::Text(event.to_json().into()))
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
            }
        }
    };

    let reader = async {
        let hello = EventBody::Hello {
            tcp_server: shared.tcp_target,
            udp_server: shared.udp_target,
            limits: shared.limits,
            show_other_clients: shared.observers.shows_others(),
            capture: shared.capture.clone(),
            started_unix_us: outbox.started_unix_us(),
        };
        if outbox.push(hello).await.is_err() {
            return;
        }
        let mut sockets = Sockets::new(shared.clone(), outbox.clone());
        loop {
            tokio::select! {
                frame = stream.next() => match frame {
                    Some(Ok(Message::Text(text))) => {
                        if sockets.handle(&text).await.is_err() {
                            return;
                        }
                    }
                    Some(Ok(Message::Binary(_))) => {
                        let error = EventBody::Error {
                            id: None,
                            server: None,
                            code: ErrorCode::BinaryFrame,
                            message: "binary frames are not part of the protocol: send JSON text \
                                      frames (payload bytes go in \"data\" as base64)"
                                .into(),
                            os: None,
                        };
                        if outbox.push(error).await.is_err() {
                            return;
                        }
                    }
                    // Pings are answered by the WebSocket library itself.
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                    Some(Ok(Message::Close(_))) | None => return,
                    Some(Err(e)) => {
                        tracing::debug!("session ended by a WebSocket error: {e}");
                        return;
                    }
                },
                Some(done) = sockets.next_finished() => sockets.forget(done),
            }
        }
    };

    // Whichever side ends first ends the session; dropping `reader` drops `Sockets`, which
    // aborts every socket task it owns.
    tokio::select! {
        () = reader => {}
        () = writer => {}
    }
    tracing::debug!("session ended");
}
