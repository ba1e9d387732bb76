//! 2. The empty message: nothing on the wire for TCP, a real datagram for UDP.

use super::{Action, Block, Control, Line};
use crate::i18n::{Catalog, fill, fill_owned};
use crate::model::Model;
use crate::present::bytes;
use protocol::{Command, SocketId};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Run {
    pub(crate) tcp: Option<SocketId>,
    pub(crate) udp: Option<SocketId>,
}

pub(crate) fn controls(c: &Catalog) -> Vec<Control> {
    vec![
        Control::Button {
            label: c.x.empty_tcp,
            action: Action::EmptyTcp,
        },
        Control::Button {
            label: c.x.empty_udp,
            action: Action::EmptyUdp,
        },
    ]
}

/// TCP: a fresh connection, so that every server read after it counts; then `send(b"")`.
pub(crate) fn run(m: &mut Model, action: Action) -> Vec<Command> {
    let id = m.new_id();
    if action == Action::EmptyTcp {
        let mut commands = vec![];
        if let Some(old) = m.runs.empty.tcp.replace(id) {
            commands.extend(m.release(old, true));
        }
        commands.push(Command::tcp_connect(id));
        commands.push(Command::TcpSend {
            id,
            data: "".into(),
        });
        commands
    } else {
        let mut commands = vec![];
        if let Some(old) = m.runs.empty.udp.replace(id) {
            commands.extend(m.release(old, false));
        }
        commands.push(Command::udp_send(id, ""));
        commands
    }
}

pub(crate) fn results(m: &Model, c: &Catalog) -> Vec<Block> {
    let x = c.x;
    let mut blocks = vec![];
    if let Some(id) = m.runs.empty.tcp {
        let f = m.facts().socket(id).cloned().unwrap_or_default();
        let mut lines = vec![];
        if f.sent.contains(&0) {
            lines.push(Line::new("ok", x.empty_tcp_sent));
            let reads = f.server_reads.len().to_string();
            let kind = if f.server_reads.is_empty() {
                "ok"
            } else {
                "bad"
            };
            lines.push(Line::new(kind, fill(x.empty_tcp_reads, &[("n", &reads)])));
        } else {
            lines.push(Line::new("wait", x.waiting));
        }
        lines.extend(super::error_line(m, c, id));
        blocks.push(Block {
            title: "TCP".into(),
            lines,
        });
    }
    if let Some(id) = m.runs.empty.udp {
        let f = m.facts().socket(id).cloned().unwrap_or_default();
        let mut lines = vec![];
        match (f.server_reads.last(), f.server_peer) {
            (Some(read), Some(peer)) => {
                let values = [("n", bytes(read.len())), ("peer", peer.to_string())];
                lines.push(Line::new("ok", fill_owned(x.empty_udp_read, &values)));
            }
            _ => lines.push(Line::new("wait", x.waiting)),
        }
        if let Some(echo) = f.received.last() {
            let n = bytes(echo.len());
            lines.push(Line::new("ok", fill(x.empty_udp_echo, &[("n", &n)])));
        }
        lines.extend(super::error_line(m, c, id));
        blocks.push(Block {
            title: "UDP".into(),
            lines,
        });
    }
    blocks
}
