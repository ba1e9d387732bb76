//! A session's outbox: the one bounded queue of events going to its browser.
//!
//! Everything that happens for a session (its client sockets' calls, the echo server's calls on
//! its connections, its errors) is pushed here and leaves in that order over the WebSocket.
//! Each event is stamped with the session's clock *while holding the queue's order lock*, so
//! timestamps in the stream never go backwards: what the browser reads first happened first.
//!
//! A call is stamped the moment it returns, not when there is room to queue its report: the
//! session's own sockets take a [`Slot`] (room in the queue) *before* the call, so stamping and
//! queueing happen right after it, and the echo servers report right after their calls. A
//! call's report also says when it was entered (`called_us`), read by the task just before the
//! call. The clock is `CLOCK_MONOTONIC` ([`crate::clock`]), the packets' too.
//!
//! Two ways in, because two kinds of producers have different duties:
//! - [`Outbox::push`] waits for room. The session's own sockets use it: if the browser reads
//!   slowly, they slow down too (back-pressure) and nothing is lost.
//! - [`Outbox::try_push`] never waits. The shared echo servers use it: one slow browser must not
//!   stall the server for everybody. When the queue is full the event is dropped and counted,
//!   and the count reaches the browser as an `events_dropped` error: dropped, never hidden.

use crate::clock::{self, Mono};
use protocol::{ErrorCode, Event, EventBody, SocketId};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime};
use tokio::sync::mpsc;

/// How many events may wait for the browser. Each is at most one payload (≤ the message limit),
/// so this bounds a session's queued memory; 256 is a few seconds of a fast experiment.
pub(crate) const OUTBOX_EVENTS: usize = 256;

pub(crate) struct Outbox {
    /// When the session began, on the monotonic clock.
    start: Mono,
    /// The wall-clock time of `start` (a pcap file needs real dates).
    start_wall: SystemTime,
    /// Packets may come faster than a browser can draw them; this bounds them per session.
    packet_budget: Mutex<TokenBucket>,
    packets_dropped: AtomicU64,
    /// Boxed: a queue's slots are allocated 32 at a time, and an idle session should not hold
    /// 32 empty events' worth of memory (an `Event` is ~150 bytes, a box 8).
    tx: mpsc::Sender<Box<Event>>,
    /// Held while stamping and queueing, so queue order equals timestamp order.
    order: Mutex<()>,
    dropped: AtomicU64,
}

/// The receiving end, read by the session's WebSocket writer.
pub(crate) struct OutboxReceiver {
    rx: mpsc::Receiver<Box<Event>>,
}

/// The session is gone; there is nobody left to tell.
#[derive(Debug)]
pub(crate) struct SessionGone;

impl Outbox {
    pub(crate) fn new() -> (Outbox, OutboxReceiver) {
        let (tx, rx) = mpsc::channel(OUTBOX_EVENTS);
        let outbox = Outbox {
            start: clock::now(),
            start_wall: SystemTime::now(),
            packet_budget: Mutex::new(TokenBucket::new()),
            packets_dropped: AtomicU64::new(0),
            tx,
            order: Mutex::new(()),
            dropped: AtomicU64::new(0),
        };
        (outbox, OutboxReceiver { rx })
    }

    /// When the session began, in microseconds since the Unix epoch.
    pub(crate) fn started_unix_us(&self) -> u64 {
        self.start_wall
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_micros() as u64)
            .unwrap_or(0)
    }

    /// Microseconds since the session began.
    fn now_us(&self) -> u64 {
        self.us(clock::now())
    }

    /// `at` (on the monotonic clock) in microseconds since the session began.
    pub(crate) fn us(&self, at: Mono) -> u64 {
        at.saturating_sub(self.start) / 1000
    }

    /// Room for `n` events (a burst's reports), taken at once.
    pub(crate) async fn slots(&self, n: usize) -> Result<Vec<Slot<'_>>, SessionGone> {
        let permits = self.tx.reserve_many(n).await.map_err(|_| SessionGone)?;
        Ok(permits
            .map(|permit| Slot {
                outbox: self,
                permit,
            })
            .collect())
    }

    /// Room for one event in the queue, taken before a call so that its report is stamped and
    /// queued the moment it returns (waiting for room, if the browser is behind, happens first).
    pub(crate) async fn slot(&self) -> Result<Slot<'_>, SessionGone> {
        let permit = self.tx.reserve().await.map_err(|_| SessionGone)?;
        Ok(Slot {
            outbox: self,
            permit,
        })
    }

    /// Queues an event, waiting for room if the browser is behind.
    pub(crate) async fn push(&self, body: EventBody) -> Result<(), SessionGone> {
        let permit = self.tx.reserve().await.map_err(|_| SessionGone)?;
        let _order = self.order.lock().unwrap_or_else(|e| e.into_inner());
        permit.send(Box::new(Event::new(self.now_us(), body)));
        Ok(())
    }

    /// Queues an event if there is room now; otherwise drops and counts it.
    pub(crate) fn try_push(&self, body: EventBody) {
        self.try_push_call(None, body);
    }

    /// Queues the report of a call entered at `called` (just returned), if there is room now;
    /// otherwise drops and counts it.
    pub(crate) fn try_push_call(&self, called: Option<Mono>, body: EventBody) {
        match self.tx.try_reserve() {
            Ok(permit) => {
                let _order = self.order.lock().unwrap_or_else(|e| e.into_inner());
                permit.send(Box::new(self.stamp(called, body)));
            }
            Err(_) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// The event, stamped now (call with the order lock held).
    fn stamp(&self, called: Option<Mono>, body: EventBody) -> Event {
        let t_us = self.now_us();
        match called {
            Some(called) => Event::call(self.us(called), t_us, body),
            None => Event::new(t_us, body),
        }
    }

    /// Queues a captured packet (`at`: the kernel's time for it, on the monotonic clock) if the
    /// session's packet budget and its queue allow; otherwise counts it (see
    /// [`Outbox::take_dropped`]).
    pub(crate) fn try_push_packet(&self, id: Option<SocketId>, frame: &[u8], at: Mono) {
        self.try_push_frame(id, frame, at, false);
    }

    /// Queues a packet the session's impaired link dropped (see [`Outbox::try_push_packet`]).
    pub(crate) fn try_push_lost(&self, frame: &[u8], at: Mono) {
        self.try_push_frame(None, frame, at, true);
    }

    fn try_push_frame(&self, id: Option<SocketId>, frame: &[u8], at: Mono, lost: bool) {
        let allowed = self
            .packet_budget
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take(Instant::now());
        if !allowed || self.tx.capacity() == 0 {
            self.packets_dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let at_us = self.us(at);
        self.try_push(EventBody::Packet {
            id,
            at_us,
            data: frame.into(),
            lost,
        });
    }

    /// Takes the count of dropped events as an error event, if any were dropped, stamped `t_us`:
    /// the time of the event it is sent after, so that the stream's times never go back.
    pub(crate) fn take_dropped(&self, t_us: u64) -> Option<Event> {
        let packets = self.packets_dropped.swap(0, Ordering::Relaxed);
        if packets > 0 {
            return Some(Event::new(
                t_us,
                EventBody::Error {
                    id: None,
                    server: None,
                    code: ErrorCode::PacketsDropped,
                    message: format!(
                        "{packets} captured packet(s) were not sent: over {PACKETS_PER_SECOND} \
                         packets/s, or the session's queue of {OUTBOX_EVENTS} events was full"
                    ),
                    os: None,
                },
            ));
        }
        let n = self.dropped.swap(0, Ordering::Relaxed);
        (n > 0).then(|| {
            Event::new(
                t_us,
                EventBody::Error {
                    id: None,
                    server: None,
                    code: ErrorCode::EventsDropped,
                    message: format!(
                        "{n} server-side event(s) were dropped: the session's queue of \
                         {OUTBOX_EVENTS} events was full (events came faster than the WebSocket \
                         carried them to the browser)"
                    ),
                    os: None,
                },
            )
        })
    }
}

/// Room for one event, taken before a call (see [`Outbox::slot`]).
pub(crate) struct Slot<'a> {
    outbox: &'a Outbox,
    permit: mpsc::Permit<'a, Box<Event>>,
}

impl Slot<'_> {
    /// Stamps `body` now and queues it; `called` is when the call it reports was entered.
    pub(crate) fn send(self, called: Option<Mono>, body: EventBody) {
        let _order = self.outbox.order.lock().unwrap_or_else(|e| e.into_inner());
        self.permit.send(Box::new(self.outbox.stamp(called, body)));
    }
}

/// Packets per second one session may receive (a burst of [`PACKET_BURST`] at once).
pub(crate) const PACKETS_PER_SECOND: u32 = 2000;
pub(crate) const PACKET_BURST: u32 = 1000;

/// A token bucket: [`PACKETS_PER_SECOND`] tokens a second, at most [`PACKET_BURST`] saved.
struct TokenBucket {
    tokens: f64,
    at: Instant,
}

impl TokenBucket {
    fn new() -> TokenBucket {
        TokenBucket {
            tokens: f64::from(PACKET_BURST),
            at: Instant::now(),
        }
    }

    fn take(&mut self, now: Instant) -> bool {
        let refill = now.duration_since(self.at).as_secs_f64() * f64::from(PACKETS_PER_SECOND);
        self.tokens = (self.tokens + refill).min(f64::from(PACKET_BURST));
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

impl OutboxReceiver {
    pub(crate) async fn recv(&mut self) -> Option<Box<Event>> {
        self.rx.recv().await
    }

    /// The next event if one is queued now.
    pub(crate) fn try_recv(&mut self) -> Option<Box<Event>> {
        self.rx.try_recv().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::SocketId;

    fn closed(id: SocketId) -> EventBody {
        EventBody::UdpClosed { id }
    }

    #[tokio::test]
    async fn events_leave_in_order_with_timestamps_that_never_go_back() {
        let (outbox, mut rx) = Outbox::new();
        for id in 0..10 {
            outbox.push(closed(id)).await.unwrap();
        }
        let mut last = 0;
        for id in 0..10 {
            let ev = rx.recv().await.unwrap();
            assert_eq!(ev.body, closed(id));
            assert!(ev.t_us >= last);
            last = ev.t_us;
        }
    }

    #[tokio::test]
    async fn a_full_outbox_drops_server_events_and_says_how_many() {
        let (outbox, mut rx) = Outbox::new();
        for id in 0..(OUTBOX_EVENTS as u32 + 3) {
            outbox.try_push(closed(id));
        }
        let report = outbox.take_dropped(7).expect("drops are reported");
        assert_eq!(report.t_us, 7, "stamped as the event it follows");
        assert!(matches!(
            report.body,
            EventBody::Error { code: ErrorCode::EventsDropped, ref message, .. } if message.starts_with("3 ")
        ));
        assert!(outbox.take_dropped(8).is_none(), "reported once");
        assert_eq!(rx.recv().await.unwrap().body, closed(0));
    }
}
