//! Reading the bridge's events: the console's side of [`Event`].
//!
//! The bridge writes events with serde (`Event::to_json`); this reads the same JSON back, field
//! by field, with serde's defaults for the fields marked `#[serde(default)]`. The tests in
//! `json/tests.rs` write every variant with serde and read it back here.

use super::names::{CLOSERS, ERROR_CODES, FAMILIES, FRAMINGS, TRANSPORTS};
use super::read::{DecodeError, FromJson, Obj, variant};
use super::value::{Value, parse};
use crate::{
    CaptureState, CloseBy, ErrorCode, Event, EventBody, Family, FileProgress, FileResult, Framing,
    Impair, ImpairState, KernelSocket, LabSpec, Limits, LinkStats, OsError, ServerSide, TcpInfo,
    Transport,
};

impl Event {
    /// Reads one text frame from the bridge. Unknown fields are ignored (a newer bridge may add
    /// some); an unknown `type` is an error that names it.
    pub fn from_json(text: &str) -> Result<Event, DecodeError> {
        let value = parse(text)?;
        let o = Obj::of(&value).map_err(|e| DecodeError(format!("an event: {e}")))?;
        let kind = o.tag("type")?;
        let body =
            body(o, kind).map_err(|DecodeError(e)| DecodeError(format!("a {kind} event: {e}")))?;
        Ok(Event {
            v: o.get("v")?,
            t_us: o.get("t_us")?,
            called_us: o.opt("called_us")?,
            body,
        })
    }
}

fn body(o: Obj, kind: &str) -> Result<EventBody, DecodeError> {
    Ok(match kind {
        "hello" => EventBody::Hello {
            tcp_server: o.get("tcp_server")?,
            udp_server: o.get("udp_server")?,
            tcp_server6: o.opt("tcp_server6")?,
            udp_server6: o.opt("udp_server6")?,
            limits: o.get("limits")?,
            show_other_clients: o.or("show_other_clients", false)?,
            capture: o.or("capture", CaptureState::Off)?,
            impair: o.or("impair", ImpairState::Off)?,
            started_unix_us: o.or("started_unix_us", 0)?,
            bridge_version: o.or("bridge_version", String::new())?,
            kernel: o.or("kernel", String::new())?,
        },
        "packet" => EventBody::Packet {
            id: o.opt("id")?,
            at_us: o.get("at_us")?,
            data: o.get("data")?,
            lost: o.or("lost", false)?,
        },
        "tcp_state" => EventBody::TcpState {
            id: o.get("id")?,
            state: o.get("state")?,
            info: o.opt("info")?,
            timer_ms: o.opt("timer_ms")?,
        },
        "tcp_connected" => EventBody::TcpConnected {
            id: o.get("id")?,
            local: o.get("local")?,
            peer: o.get("peer")?,
            connect_us: o.get("connect_us")?,
        },
        "tcp_sent" => EventBody::TcpSent {
            id: o.get("id")?,
            len: o.get("len")?,
        },
        "tcp_received" => EventBody::TcpReceived {
            id: o.get("id")?,
            data: o.get("data")?,
        },
        "tcp_closing" => EventBody::TcpClosing { id: o.get("id")? },
        "tcp_closed" => EventBody::TcpClosed {
            id: o.get("id")?,
            by: o.get("by")?,
        },
        "udp_sent" => EventBody::UdpSent {
            id: o.get("id")?,
            local: o.get("local")?,
            peer: o.get("peer")?,
            len: o.get("len")?,
            connected: o.or("connected", false)?,
        },
        "udp_received" => EventBody::UdpReceived {
            id: o.get("id")?,
            from: o.get("from")?,
            data: o.get("data")?,
        },
        "udp_closed" => EventBody::UdpClosed { id: o.get("id")? },
        "server" => EventBody::Server {
            id: o.get("id")?,
            op: o.get("op")?,
        },
        "other_client" => EventBody::OtherClient {
            transport: o.get("transport")?,
            client: o.get("client")?,
            op: o.get("op")?,
        },
        "udp_no_reply" => EventBody::UdpNoReply {
            id: o.get("id")?,
            waited_ms: o.get("waited_ms")?,
        },
        "lab_started" => EventBody::LabStarted {
            server: o.get("server")?,
            addr: o.get("addr")?,
            spec: o.get("spec")?,
        },
        "lab_stopped" => EventBody::LabStopped {
            server: o.get("server")?,
        },
        "listen_queue" => EventBody::ListenQueue {
            server: o.get("server")?,
            queued: o.get("queued")?,
            backlog: o.get("backlog")?,
            overflows: o.opt("overflows")?,
        },
        "udp_dropped" => EventBody::UdpDropped {
            addr: o.get("addr")?,
            dropped: o.get("dropped")?,
            rcvbuf: o.get("rcvbuf")?,
        },
        "link_stats" => EventBody::LinkStats {
            server: o.get("server")?,
            stats: o.get("stats")?,
        },
        "kernel_sockets" => EventBody::KernelSockets {
            server: o.get("server")?,
            sockets: o.get("sockets")?,
        },
        "file_progress" => EventBody::FileProgress {
            id: o.get("id")?,
            progress: o.get("progress")?,
        },
        "file_done" => EventBody::FileDone {
            id: o.get("id")?,
            result: o.get("result")?,
        },
        "error" => EventBody::Error {
            id: o.opt("id")?,
            server: o.opt("server")?,
            code: o.get("code")?,
            message: o.get("message")?,
            os: o.opt("os")?,
        },
        other => return Err(DecodeError(format!("unknown event type \"{other}\""))),
    })
}

/// Runs `read` on the fields of an object value, turning its error into a `FromJson` one.
fn object<T>(value: &Value, read: impl FnOnce(Obj) -> Result<T, DecodeError>) -> Result<T, String> {
    read(Obj::of(value)?).map_err(|DecodeError(e)| e)
}

impl FromJson for Limits {
    fn from_json(value: &Value) -> Result<Self, String> {
        object(value, |o| {
            Ok(Limits {
                max_message: o.get("max_message")?,
                max_sockets: o.get("max_sockets")?,
            })
        })
    }
}

impl FromJson for CaptureState {
    fn from_json(value: &Value) -> Result<Self, String> {
        object(value, |o| {
            Ok(match o.tag("state")? {
                "on" => CaptureState::On,
                "off" => CaptureState::Off,
                "no_permission" => CaptureState::NoPermission {
                    hint: o.get("hint")?,
                },
                "failed" => CaptureState::Failed {
                    message: o.get("message")?,
                },
                other => return Err(DecodeError(format!("unknown capture state \"{other}\""))),
            })
        })
    }
}

impl FromJson for ImpairState {
    fn from_json(value: &Value) -> Result<Self, String> {
        object(value, |o| {
            Ok(match o.tag("state")? {
                "on" => ImpairState::On {
                    available: o.get("available")?,
                },
                "off" => ImpairState::Off,
                "no_permission" => ImpairState::NoPermission {
                    hint: o.get("hint")?,
                },
                "failed" => ImpairState::Failed {
                    message: o.get("message")?,
                },
                other => return Err(DecodeError(format!("unknown impair state \"{other}\""))),
            })
        })
    }
}

impl FromJson for Impair {
    fn from_json(value: &Value) -> Result<Self, String> {
        object(value, |o| {
            Ok(Impair {
                loss_pct: o.or("loss_pct", 0)?,
                delay_ms: o.or("delay_ms", 0)?,
                jitter_ms: o.or("jitter_ms", 0)?,
                reorder_pct: o.or("reorder_pct", 0)?,
                duplicate_pct: o.or("duplicate_pct", 0)?,
                seed: o.or("seed", 0)?,
            })
        })
    }
}

impl FromJson for LinkStats {
    fn from_json(value: &Value) -> Result<Self, String> {
        object(value, |o| {
            Ok(LinkStats {
                packets: o.get("packets")?,
                dropped: o.get("dropped")?,
                delayed: o.get("delayed")?,
                reordered: o.get("reordered")?,
                duplicated: o.get("duplicated")?,
                overflow: o.get("overflow")?,
            })
        })
    }
}

impl FromJson for TcpInfo {
    fn from_json(value: &Value) -> Result<Self, String> {
        object(value, |o| {
            Ok(TcpInfo {
                rtt_us: o.get("rtt_us")?,
                rttvar_us: o.get("rttvar_us")?,
                cwnd: o.get("cwnd")?,
                segs_out: o.get("segs_out")?,
                segs_in: o.get("segs_in")?,
                total_retrans: o.get("total_retrans")?,
            })
        })
    }
}

impl FromJson for ServerSide {
    fn from_json(value: &Value) -> Result<Self, String> {
        object(value, |o| {
            Ok(match o.tag("op")? {
                "accept" => ServerSide::Accept {
                    peer: o.get("peer")?,
                },
                "recv" => ServerSide::Recv {
                    data: o.get("data")?,
                },
                "send" => ServerSide::Send { len: o.get("len")? },
                "close" => ServerSide::Close {
                    error: o.opt("error")?,
                    idle_s: o.opt("idle_s")?,
                    active: o.or("active", false)?,
                    waited_ms: o.opt("waited_ms")?,
                },
                "recv_from" => ServerSide::RecvFrom {
                    peer: o.get("peer")?,
                    data: o.get("data")?,
                    size: o.get("size")?,
                },
                "message" => ServerSide::Message {
                    data: o.get("data")?,
                },
                "send_to" => ServerSide::SendTo {
                    peer: o.get("peer")?,
                    len: o.get("len")?,
                },
                other => return Err(DecodeError(format!("unknown server op \"{other}\""))),
            })
        })
    }
}

impl FromJson for OsError {
    fn from_json(value: &Value) -> Result<Self, String> {
        object(value, |o| {
            Ok(OsError {
                errno: o.get("errno")?,
                name: o.get("name")?,
                message: o.get("message")?,
            })
        })
    }
}

impl FromJson for LabSpec {
    fn from_json(value: &Value) -> Result<Self, String> {
        object(value, |o| {
            let tutorial = LabSpec::tutorial(o.get("transport")?);
            Ok(LabSpec {
                read_delay_ms: o.or("read_delay_ms", tutorial.read_delay_ms)?,
                recv_buffer: o.or("recv_buffer", tutorial.recv_buffer)?,
                one_at_a_time: o.or("one_at_a_time", tutorial.one_at_a_time)?,
                backlog: o.or("backlog", tutorial.backlog)?,
                reuseaddr: o.or("reuseaddr", tutorial.reuseaddr)?,
                framing: o.or("framing", tutorial.framing)?,
                close_delay_ms: o.or("close_delay_ms", tutorial.close_delay_ms)?,
                family: o.or("family", tutorial.family)?,
                impair: o.opt("impair")?,
                transport: tutorial.transport,
            })
        })
    }
}

impl FromJson for KernelSocket {
    fn from_json(value: &Value) -> Result<Self, String> {
        object(value, |o| {
            Ok(KernelSocket {
                local: o.get("local")?,
                remote: o.get("remote")?,
                state: o.get("state")?,
                timer_ms: o.opt("timer_ms")?,
            })
        })
    }
}

impl FromJson for FileProgress {
    fn from_json(value: &Value) -> Result<Self, String> {
        object(value, |o| {
            Ok(FileProgress {
                bytes_sent: o.get("bytes_sent")?,
                bytes_echoed: o.get("bytes_echoed")?,
                sends: o.get("sends")?,
                recvs: o.get("recvs")?,
                reordered: o.or("reordered", 0)?,
                truncated: o.or("truncated", 0)?,
            })
        })
    }
}

impl FromJson for FileResult {
    fn from_json(value: &Value) -> Result<Self, String> {
        object(value, |o| {
            Ok(FileResult {
                progress: o.get("progress")?,
                sha256_expected: o.get("sha256_expected")?,
                sha256_echoed: o.get("sha256_echoed")?,
                lost: o.or("lost", 0)?,
                missing: o.or("missing", vec![])?,
                retransmitted: o.opt("retransmitted")?,
                elapsed_us: o.get("elapsed_us")?,
                cancelled: o.get("cancelled")?,
            })
        })
    }
}

impl FromJson for Transport {
    fn from_json(value: &Value) -> Result<Self, String> {
        variant(value, TRANSPORTS)
    }
}

impl FromJson for Framing {
    fn from_json(value: &Value) -> Result<Self, String> {
        variant(value, FRAMINGS)
    }
}

impl FromJson for Family {
    fn from_json(value: &Value) -> Result<Self, String> {
        variant(value, FAMILIES)
    }
}

impl FromJson for CloseBy {
    fn from_json(value: &Value) -> Result<Self, String> {
        variant(value, CLOSERS)
    }
}

impl FromJson for ErrorCode {
    fn from_json(value: &Value) -> Result<Self, String> {
        variant(value, ERROR_CODES)
    }
}
