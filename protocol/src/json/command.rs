//! Writing the console's commands: the console's side of [`ClientMsg`].
//!
//! The bridge reads commands with serde (`ClientMsg::from_json`); this writes the JSON serde
//! would, member for member. The tests in `json/tests.rs` read every variant back with serde.

use super::names::{FAMILIES, FRAMINGS, TRANSPORTS, name_of};
use super::read::Obj;
use super::write::{ObjectWriter, push_string};
use crate::{Bytes, ClientMsg, Command, FileSource, LabSpec, Target};

impl ClientMsg {
    /// The JSON text frame for this message.
    pub fn to_json(&self) -> String {
        let mut w = ObjectWriter::new();
        w.num("v", self.v.into());
        match &self.cmd {
            Command::TcpConnect { id, to } => w
                .str("type", "tcp_connect")
                .num("id", (*id).into())
                .raw("to", &target(to)),
            Command::TcpSend { id, data } => w
                .str("type", "tcp_send")
                .num("id", (*id).into())
                .str("data", &base64(data)),
            Command::TcpSendBurst {
                id,
                messages,
                framing,
            } => {
                let list: Vec<String> = messages.iter().map(|m| quoted(&base64(m))).collect();
                w.str("type", "tcp_send_burst")
                    .num("id", (*id).into())
                    .raw("messages", &format!("[{}]", list.join(",")))
                    .str("framing", name_of(FRAMINGS, framing))
            }
            Command::TcpClose { id } => w.str("type", "tcp_close").num("id", (*id).into()),
            Command::UdpSend {
                id,
                data,
                to,
                connected,
            } => w
                .str("type", "udp_send")
                .num("id", (*id).into())
                .str("data", &base64(data))
                .raw("to", &target(to))
                .bool("connected", *connected),
            Command::UdpClose { id } => w.str("type", "udp_close").num("id", (*id).into()),
            Command::LabStart { server, spec } => w
                .str("type", "lab_start")
                .num("server", (*server).into())
                .raw("spec", &lab_spec(spec)),
            Command::LabStop { server } => {
                w.str("type", "lab_stop").num("server", (*server).into())
            }
            Command::LabRestart { server, reuseaddr } => w
                .str("type", "lab_restart")
                .num("server", (*server).into())
                .bool("reuseaddr", *reuseaddr),
            Command::LabCloseClients { server } => w
                .str("type", "lab_close_clients")
                .num("server", (*server).into()),
            Command::FileStart {
                id,
                transport,
                to,
                source,
                datagram,
            } => w
                .str("type", "file_start")
                .num("id", (*id).into())
                .str("transport", name_of(TRANSPORTS, transport))
                .raw("to", &target(to))
                .raw("source", &file_source(source))
                .num("datagram", *datagram as u64),
            Command::FileChunk { id, data } => w
                .str("type", "file_chunk")
                .num("id", (*id).into())
                .str("data", &base64(data)),
            Command::FileCancel { id } => w.str("type", "file_cancel").num("id", (*id).into()),
        };
        w.finish()
    }
}

/// The socket id and bytes of a `tcp_send` or `udp_send` command frame; `None` for any other
/// frame. A console's recording keeps its own commands beside the bridge's events, and this is
/// what a replay needs of them: the events say how many bytes were sent, not which.
pub fn sent_data(text: &str) -> Option<(crate::SocketId, Bytes)> {
    let value = super::value::parse(text).ok()?;
    let o = Obj::of(&value).ok()?;
    match o.tag("type").ok()? {
        "tcp_send" | "udp_send" => Some((o.get("id").ok()?, o.get("data").ok()?)),
        _ => None,
    }
}

fn base64(data: &Bytes) -> String {
    super::base64::encode(&data.0)
}

fn quoted(s: &str) -> String {
    let mut out = String::new();
    push_string(&mut out, s);
    out
}

/// `"echo"`, `{"lab":3}` or `"nobody"`.
fn target(to: &Target) -> String {
    match to {
        Target::Echo => quoted("echo"),
        Target::Echo6 => quoted("echo6"),
        Target::Lab(server) => ObjectWriter::new().num("lab", (*server).into()).finish(),
        Target::Nobody => quoted("nobody"),
        Target::Nobody6 => quoted("nobody6"),
    }
}

fn lab_spec(spec: &LabSpec) -> String {
    let mut w = ObjectWriter::new();
    w.str("transport", name_of(TRANSPORTS, &spec.transport))
        .num("read_delay_ms", spec.read_delay_ms.into())
        .num("recv_buffer", spec.recv_buffer as u64)
        .bool("one_at_a_time", spec.one_at_a_time)
        .num("backlog", spec.backlog.into())
        .bool("reuseaddr", spec.reuseaddr)
        .str("framing", name_of(FRAMINGS, &spec.framing))
        .num("close_delay_ms", spec.close_delay_ms.into())
        .str("family", name_of(FAMILIES, &spec.family));
    if let Some(i) = &spec.impair {
        let impair = ObjectWriter::new()
            .num("loss_pct", i.loss_pct.into())
            .num("delay_ms", i.delay_ms.into())
            .num("jitter_ms", i.jitter_ms.into())
            .num("reorder_pct", i.reorder_pct.into())
            .num("duplicate_pct", i.duplicate_pct.into())
            .num("seed", i.seed.into())
            .finish();
        w.raw("impair", &impair);
    }
    w.finish()
}

/// `{"generated":{"size":N}}` or `{"upload":{"name":…,"size":N}}`.
fn file_source(source: &FileSource) -> String {
    match source {
        FileSource::Generated { size } => {
            let inner = ObjectWriter::new().num("size", *size).finish();
            ObjectWriter::new().raw("generated", &inner).finish()
        }
        FileSource::Upload { name, size } => {
            let inner = ObjectWriter::new()
                .str("name", name)
                .num("size", *size)
                .finish();
            ObjectWriter::new().raw("upload", &inner).finish()
        }
    }
}
