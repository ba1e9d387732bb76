//! The bridge's hot path: the events of an echo, written straight into one `String`.
//!
//! An echo through the lab makes about nine events (the client's `send()` and `recv()`, the
//! server's, four packets, …), and writing them was the largest share of the bridge's own work
//! per echo (`scripts/bench.sh instructions`: serde_json's escape scan over every key and every
//! base64 payload, `#[serde(flatten)]`'s map, a temporary `String` per payload). The events an
//! echo makes have fixed keys and values that never need escaping (numbers, base64, socket
//! addresses), so [`write`] writes those few shapes directly: keys as literals, base64 encoded
//! into the output, numbers without the formatting machinery. Every other event (rare: a
//! session's start, errors, kernel state) goes through serde as before.
//!
//! serde stays the definition of the format: the tests write every shape both ways and demand
//! the same bytes.

use crate::{Bytes, Event, EventBody, ServerSide};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use std::fmt::Write as _;
use std::net::SocketAddr;

/// The event as JSON if it is one of the shapes an echo makes; `None` for the others (serde
/// writes those).
#[inline]
pub(crate) fn write(event: &Event) -> Option<String> {
    let body = &event.body;
    // Room for the envelope, the fields and the payload's base64 in one allocation.
    let payload = match body {
        EventBody::Packet { data, .. }
        | EventBody::TcpReceived { data, .. }
        | EventBody::UdpReceived { data, .. }
        | EventBody::Server {
            op:
                ServerSide::Recv { data }
                | ServerSide::Message { data }
                | ServerSide::RecvFrom { data, .. },
            ..
        } => data.len(),
        EventBody::TcpSent { .. }
        | EventBody::UdpSent { .. }
        | EventBody::Server {
            op: ServerSide::Send { .. } | ServerSide::SendTo { .. },
            ..
        } => 0,
        _ => return None,
    };
    let mut out = Out(String::with_capacity(160 + payload.div_ceil(3) * 4));
    out.lit(r#"{"v":"#);
    out.num(u64::from(event.v));
    out.lit(r#","t_us":"#);
    out.num(event.t_us);
    if let Some(called) = event.called_us {
        out.lit(r#","called_us":"#);
        out.num(called);
    }
    match body {
        EventBody::Packet {
            id,
            at_us,
            data,
            lost,
        } => {
            out.lit(r#","type":"packet""#);
            if let Some(id) = id {
                out.lit(r#","id":"#);
                out.num(u64::from(*id));
            }
            out.lit(r#","at_us":"#);
            out.num(*at_us);
            out.bytes(r#","data":"#, data);
            if *lost {
                out.lit(r#","lost":true"#);
            }
        }
        EventBody::TcpSent { id, len } => {
            out.lit(r#","type":"tcp_sent","id":"#);
            out.num(u64::from(*id));
            out.lit(r#","len":"#);
            out.num(*len as u64);
        }
        EventBody::TcpReceived { id, data } => {
            out.lit(r#","type":"tcp_received","id":"#);
            out.num(u64::from(*id));
            out.bytes(r#","data":"#, data);
        }
        EventBody::UdpSent {
            id,
            local,
            peer,
            len,
            connected,
        } => {
            out.lit(r#","type":"udp_sent","id":"#);
            out.num(u64::from(*id));
            out.addr(r#","local":"#, local);
            out.addr(r#","peer":"#, peer);
            out.lit(r#","len":"#);
            out.num(*len as u64);
            if *connected {
                out.lit(r#","connected":true"#);
            }
        }
        EventBody::UdpReceived { id, from, data } => {
            out.lit(r#","type":"udp_received","id":"#);
            out.num(u64::from(*id));
            out.addr(r#","from":"#, from);
            out.bytes(r#","data":"#, data);
        }
        EventBody::Server { id, op } => {
            out.lit(r#","type":"server","id":"#);
            out.num(u64::from(*id));
            match op {
                ServerSide::Recv { data } => out.bytes(r#","op":{"op":"recv","data":"#, data),
                ServerSide::Message { data } => {
                    out.bytes(r#","op":{"op":"message","data":"#, data);
                }
                ServerSide::Send { len } => {
                    out.lit(r#","op":{"op":"send","len":"#);
                    out.num(*len as u64);
                }
                ServerSide::RecvFrom { peer, data, size } => {
                    out.addr(r#","op":{"op":"recv_from","peer":"#, peer);
                    out.bytes(r#","data":"#, data);
                    out.lit(r#","size":"#);
                    out.num(*size as u64);
                }
                ServerSide::SendTo { peer, len } => {
                    out.addr(r#","op":{"op":"send_to","peer":"#, peer);
                    out.lit(r#","len":"#);
                    out.num(*len as u64);
                }
                ServerSide::Accept { .. } | ServerSide::Close { .. } => {
                    unreachable!("not a hot shape")
                }
            }
            out.lit("}");
        }
        _ => unreachable!("not a hot shape"),
    }
    out.lit("}");
    Some(out.0)
}

/// The output, with the three kinds of value the hot shapes hold.
struct Out(String);

impl Out {
    #[inline]
    fn lit(&mut self, s: &str) {
        self.0.push_str(s);
    }

    /// A number in decimal, as serde_json writes it (with the same `itoa`).
    #[inline]
    fn num(&mut self, n: u64) {
        self.0.push_str(itoa::Buffer::new().format(n));
    }

    /// `key` (which ends in its colon), then the bytes as a quoted base64 string: base64's
    /// alphabet needs no escaping.
    #[inline]
    fn bytes(&mut self, key: &str, data: &Bytes) {
        self.0.push_str(key);
        self.0.push('"');
        STANDARD.encode_string(&data.0, &mut self.0);
        self.0.push('"');
    }

    /// `key`, then the address as a quoted string ("127.0.0.1:8080", "[::1]:8080"): digits,
    /// dots, colons and brackets, none of which JSON escapes.
    #[inline]
    fn addr(&mut self, key: &str, addr: &SocketAddr) {
        self.0.push_str(key);
        self.0.push('"');
        let _ = write!(self.0, "{addr}");
        self.0.push('"');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Event;

    /// Every hot shape, with and without its optional parts, written both ways.
    #[test]
    fn writes_exactly_what_serde_writes() {
        let v4: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        let v6: SocketAddr = "[::1]:53085".parse().unwrap();
        let mapped: SocketAddr = "[::ffff:127.0.0.1]:1".parse().unwrap();
        let payloads: Vec<Bytes> = vec![
            Bytes(vec![]),
            Bytes(vec![0]),
            Bytes(vec![0xff, 0xfe]),
            Bytes(b"hello socket".to_vec()),
            Bytes((0..=255).collect()),
        ];
        let mut bodies = vec![];
        for data in &payloads {
            for id in [None, Some(0), Some(u32::MAX)] {
                for lost in [false, true] {
                    bodies.push(EventBody::Packet {
                        id,
                        at_us: u64::MAX,
                        data: data.clone(),
                        lost,
                    });
                }
            }
            bodies.push(EventBody::TcpReceived {
                id: 7,
                data: data.clone(),
            });
            for from in [v4, v6, mapped] {
                bodies.push(EventBody::UdpReceived {
                    id: 1,
                    from,
                    data: data.clone(),
                });
                bodies.push(EventBody::Server {
                    id: 2,
                    op: ServerSide::RecvFrom {
                        peer: from,
                        data: data.clone(),
                        size: 70_000,
                    },
                });
            }
            bodies.push(EventBody::Server {
                id: 3,
                op: ServerSide::Recv { data: data.clone() },
            });
            bodies.push(EventBody::Server {
                id: 3,
                op: ServerSide::Message { data: data.clone() },
            });
        }
        for len in [0, 1, 10, 65_536, usize::MAX] {
            bodies.push(EventBody::TcpSent { id: 4, len });
            for connected in [false, true] {
                bodies.push(EventBody::UdpSent {
                    id: 5,
                    local: v6,
                    peer: v4,
                    len,
                    connected,
                });
            }
            bodies.push(EventBody::Server {
                id: 6,
                op: ServerSide::Send { len },
            });
            bodies.push(EventBody::Server {
                id: 6,
                op: ServerSide::SendTo { peer: v6, len },
            });
        }
        let mut checked = 0;
        for body in bodies {
            for event in [
                Event::new(0, body.clone()),
                Event::new(1_234_567, body.clone()),
                Event::call(9, 10, body.clone()),
                Event::call(u64::MAX, u64::MAX, body),
            ] {
                let fast = write(&event).expect("a hot shape");
                let serde = serde_json::to_string(&event).unwrap();
                assert_eq!(fast, serde);
                assert_eq!(event.to_json(), serde);
                checked += 1;
            }
        }
        assert!(checked > 200, "{checked}");
    }

    #[test]
    fn other_events_are_left_to_serde() {
        let cold = [
            EventBody::TcpClosing { id: 1 },
            EventBody::Server {
                id: 1,
                op: ServerSide::Accept {
                    peer: "127.0.0.1:1".parse().unwrap(),
                },
            },
        ];
        for body in cold {
            let event = Event::new(5, body);
            assert_eq!(write(&event), None);
            assert_eq!(event.to_json(), serde_json::to_string(&event).unwrap());
        }
    }
}
