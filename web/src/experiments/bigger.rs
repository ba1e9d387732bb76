//! 3. Bigger than the buffer: TCP reads in chunks, UDP truncates, and the 65,507-byte ceiling.

use super::{Action, BIG_TCP, BIG_UDP, Block, Control, Line, Params};
use crate::i18n::{Catalog, fill, fill_owned};
use crate::model::Model;
use crate::present::bytes;
use protocol::{Command, Family, LabSpec, SocketId, Target, Transport};

/// Up to past the UDP ceiling (65,507), so that EMSGSIZE can be seen.
pub(crate) const MAX_SIZE: u64 = 65_536;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Run {
    /// (socket, bytes sent)
    pub(crate) tcp: Option<(SocketId, usize)>,
    pub(crate) udp: Option<(SocketId, usize)>,
    /// The family of the last run.
    pub(crate) family: Family,
}

pub(crate) fn controls(c: &Catalog) -> Vec<Control> {
    let x = c.x;
    vec![
        Control::Number {
            key: "size",
            label: x.big_size,
            value: 3000,
            min: 0,
            max: MAX_SIZE,
        },
        Control::Number {
            key: "buffer",
            label: x.big_buffer,
            value: 1024,
            min: 1,
            max: 65_536,
        },
        Control::Select {
            key: "family",
            label: c.family,
            options: vec![("ipv4", "IPv4"), ("ipv6", "IPv6")],
        },
        Control::Button {
            label: x.big_tcp,
            action: Action::BigTcp,
        },
        Control::Button {
            label: x.big_udp,
            action: Action::BigUdp,
        },
    ]
}

/// `size` bytes of "abc…z" repeated.
pub(crate) fn payload(size: usize) -> Vec<u8> {
    (0..size).map(|i| b'a' + (i % 26) as u8).collect()
}

/// The family a run uses (IPv4 unless IPv6 was chosen).
fn family(p: &Params) -> Family {
    if p.text("family") == "ipv6" {
        Family::Ipv6
    } else {
        Family::Ipv4
    }
}

pub(crate) fn run(m: &mut Model, action: Action, p: &Params) -> Vec<Command> {
    let size = p.number("size", 3000, 0, MAX_SIZE) as usize;
    let buffer = p.number("buffer", 1024, 1, 65_536) as usize;
    let family = family(p);
    m.runs.big.family = family;
    let id = m.new_id();
    let data = payload(size);
    if action == Action::BigTcp {
        let spec = LabSpec {
            recv_buffer: buffer,
            family,
            ..LabSpec::tutorial(Transport::Tcp)
        };
        let mut commands = vec![Command::LabStart {
            server: BIG_TCP,
            spec,
        }];
        if let Some((old, _)) = m.runs.big.tcp.replace((id, size)) {
            commands.splice(0..0, m.release(old, true));
        }
        commands.push(Command::TcpConnect {
            id,
            to: Target::Lab(BIG_TCP),
        });
        commands.push(Command::TcpSend {
            id,
            data: data.into(),
        });
        commands
    } else {
        let spec = LabSpec {
            recv_buffer: buffer,
            family,
            ..LabSpec::tutorial(Transport::Udp)
        };
        let mut commands = vec![Command::LabStart {
            server: BIG_UDP,
            spec,
        }];
        if let Some((old, _)) = m.runs.big.udp.replace((id, size)) {
            commands.splice(0..0, m.release(old, false));
        }
        let to = Target::Lab(BIG_UDP);
        commands.push(Command::UdpSend {
            id,
            data: data.into(),
            to,
            connected: false,
        });
        commands
    }
}

pub(crate) fn results(m: &Model, c: &Catalog) -> Vec<Block> {
    let x = c.x;
    let mut blocks = vec![];
    if let Some((id, size)) = m.runs.big.tcp {
        let f = m.facts().socket(id).cloned().unwrap_or_default();
        let echoed: usize = f.received.iter().map(Vec::len).sum();
        let reads = f.server_reads.len().to_string();
        let sizes = f.server_reads.iter().map(|r| bytes(r.len())).collect();
        let mut lines = vec![];
        if !f.server_reads.is_empty() {
            lines.push(Line::new("ok", fill(x.big_tcp_reads, &[("n", &reads)])).chips(sizes));
        }
        let kind = if echoed == size { "ok" } else { "wait" };
        let values = [("n", bytes(echoed)), ("total", bytes(size))];
        lines.push(Line::new(kind, fill_owned(x.big_tcp_echo, &values)));
        lines.extend(super::error_line(m, c, id));
        blocks.push(Block {
            title: "TCP".into(),
            lines,
        });
    }
    if let Some((id, _)) = m.runs.big.udp {
        let f = m.facts().socket(id).cloned().unwrap_or_default();
        let family = m.runs.big.family;
        let (name, max) = match family {
            Family::Ipv4 => ("IPv4", family.max_udp_payload()),
            Family::Ipv6 => ("IPv6", family.max_udp_payload()),
        };
        let mut lines = vec![Line::new(
            "info",
            fill_owned(
                x.big_udp_max,
                &[("family", name.to_string()), ("max", bytes(max))],
            ),
        )];
        match (f.server_reads.last(), f.server_sizes.last()) {
            (Some(got), Some(size)) => {
                let values = [
                    ("got", bytes(got.len())),
                    ("size", bytes(*size)),
                    ("lost", bytes(size - got.len().min(*size))),
                ];
                if got.len() < *size {
                    lines.push(Line::new("bad", fill_owned(x.big_udp_read, &values)));
                } else {
                    lines.push(Line::new("ok", fill_owned(x.big_udp_whole, &values)));
                }
            }
            _ if f.error.is_none() => lines.push(Line::new("wait", x.waiting)),
            _ => {}
        }
        if let Some(echo) = f.received.last() {
            let n = bytes(echo.len());
            lines.push(Line::new("ok", fill(x.big_udp_echo, &[("n", &n)])));
        }
        lines.extend(super::error_line(m, c, id));
        blocks.push(Block {
            title: "UDP".into(),
            lines,
        });
    }
    blocks
}
