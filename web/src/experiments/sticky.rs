//! 1. Sticky packets (粘包) vs datagram boundaries, and the two fixes.

use super::{Action, Block, Control, Line, Params, STICKY_TCP, STICKY_UDP};
use crate::i18n::{Catalog, fill};
use crate::model::Model;
use crate::present::quote;
use protocol::{Bytes, Command, Framing, LabSpec, SocketId, Target, Transport};

/// At most this many messages in one burst.
pub(crate) const MAX_MESSAGES: usize = 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Run {
    pub(crate) tcp: SocketId,
    pub(crate) udp: SocketId,
    pub(crate) framing: Framing,
}

pub(crate) fn controls(c: &Catalog) -> Vec<Control> {
    let x = c.x;
    vec![
        Control::Text {
            key: "messages",
            label: x.sticky_messages,
            value: "a b c d e",
        },
        Control::Number {
            key: "delay",
            label: x.sticky_delay,
            value: 100,
            min: 0,
            max: 2000,
        },
        Control::Select {
            key: "framing",
            label: x.sticky_framing,
            options: vec![
                ("none", x.framing_none),
                ("length", x.framing_length),
                ("delimiter", x.framing_delimiter),
            ],
        },
        Control::Button {
            label: x.sticky_run,
            action: Action::StickyRun,
        },
    ]
}

fn framing(p: &Params) -> Framing {
    match p.text("framing") {
        "length" => Framing::Length,
        "delimiter" => Framing::Delimiter,
        _ => Framing::None,
    }
}

/// Starts the slow servers, then sends the burst over one TCP connection and as datagrams.
pub(crate) fn run(m: &mut Model, p: &Params) -> Vec<Command> {
    let mut messages: Vec<Bytes> = p
        .text("messages")
        .split_whitespace()
        .take(MAX_MESSAGES)
        .map(Bytes::from)
        .collect();
    if messages.is_empty() {
        messages = ["a", "b", "c", "d", "e"].map(Bytes::from).to_vec();
    }
    let delay = p.number("delay", 100, 0, 2000) as u32;
    let framing = framing(p);
    let mut commands = vec![];
    if let Some(old) = m.runs.sticky.take() {
        commands.extend(m.release(old.tcp, true));
        commands.extend(m.release(old.udp, false));
    }
    let (tcp, udp) = (m.new_id(), m.new_id());
    let tcp_spec = LabSpec {
        read_delay_ms: delay,
        framing,
        ..LabSpec::tutorial(Transport::Tcp)
    };
    let udp_spec = LabSpec {
        read_delay_ms: delay,
        ..LabSpec::tutorial(Transport::Udp)
    };
    commands.push(Command::LabStart {
        server: STICKY_TCP,
        spec: tcp_spec,
    });
    commands.push(Command::LabStart {
        server: STICKY_UDP,
        spec: udp_spec,
    });
    commands.push(Command::TcpConnect {
        id: tcp,
        to: Target::Lab(STICKY_TCP),
    });
    commands.push(Command::TcpSendBurst {
        id: tcp,
        messages: messages.clone(),
        framing,
    });
    for data in messages {
        let to = Target::Lab(STICKY_UDP);
        commands.push(Command::UdpSend {
            id: udp,
            data,
            to,
            connected: false,
        });
    }
    m.runs.sticky = Some(Run { tcp, udp, framing });
    commands
}

pub(crate) fn results(m: &Model, c: &Catalog) -> Vec<Block> {
    let Some(run) = &m.runs.sticky else {
        return vec![];
    };
    let x = c.x;
    let facts = m.facts();
    let mut blocks = vec![];
    for (id, title, template) in [
        (run.tcp, x.sticky_tcp, x.sticky_tcp_count),
        (run.udp, x.sticky_udp, x.sticky_udp_count),
    ] {
        let f = facts.socket(id).cloned().unwrap_or_default();
        let (sends, reads) = (f.sent.len(), f.server_reads.len());
        let count = fill(
            template,
            &[("sends", &sends.to_string()), ("reads", &reads.to_string())],
        );
        let kind = if reads == 0 { "wait" } else { "ok" };
        let mut lines =
            vec![Line::new(kind, count).chips(f.server_reads.iter().map(|r| quote(r)).collect())];
        if id == run.tcp && reads > 0 && reads < sends {
            lines.push(Line::new("info", x.sticky_merged));
        }
        lines.extend(super::error_line(m, c, id));
        blocks.push(Block {
            title: title.to_string(),
            lines,
        });
    }
    if run.framing != Framing::None {
        let f = facts.socket(run.tcp).cloned().unwrap_or_default();
        let chips = f.server_messages.iter().map(|r| quote(r)).collect();
        let kind = if f.server_messages.is_empty() {
            "wait"
        } else {
            "ok"
        };
        let text = f.server_messages.len().to_string();
        blocks.push(Block {
            title: x.sticky_rebuilt.to_string(),
            lines: vec![Line::new(kind, text).chips(chips)],
        });
    }
    blocks
}
