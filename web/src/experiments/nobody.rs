//! 4. Nobody listening: TCP is refused at once, UDP hears nothing (unless connected).

use super::{Action, Block, Control, Line};
use crate::i18n::{Catalog, fill};
use crate::model::Model;
use crate::present::bytes;
use crate::wire::flow::Phase;
use protocol::{Command, SocketId, Target};

/// Attempts shown at once (newest last).
const SHOWN: usize = 6;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Attempt {
    pub(crate) action: Action,
    pub(crate) id: SocketId,
}

pub(crate) fn controls(c: &Catalog) -> Vec<Control> {
    let x = c.x;
    vec![
        Control::Button {
            label: x.nobody_tcp,
            action: Action::NobodyTcp,
        },
        Control::Button {
            label: x.nobody_udp,
            action: Action::NobodyUdp,
        },
        Control::Button {
            label: x.nobody_udp_connected,
            action: Action::NobodyUdpConnected,
        },
    ]
}

pub(crate) fn run(m: &mut Model, action: Action) -> Vec<Command> {
    let id = m.new_id();
    let mut commands = vec![];
    if m.runs.nobody.len() == SHOWN {
        let old = m.runs.nobody.remove(0);
        if old.action != Action::NobodyTcp {
            commands.extend(m.release(old.id, false));
        }
    }
    m.runs.nobody.push(Attempt { action, id });
    let data = "hello?".into();
    commands.push(match action {
        Action::NobodyTcp => Command::TcpConnect {
            id,
            to: Target::Nobody,
        },
        _ => Command::UdpSend {
            id,
            data,
            to: Target::Nobody,
            connected: action == Action::NobodyUdpConnected,
        },
    });
    commands
}

pub(crate) fn results(m: &Model, c: &Catalog) -> Vec<Block> {
    let x = c.x;
    m.runs
        .nobody
        .iter()
        .map(|attempt| {
            let f = m.facts().socket(attempt.id).cloned().unwrap_or_default();
            let title = match attempt.action {
                Action::NobodyTcp => x.nobody_tcp,
                Action::NobodyUdp => x.nobody_udp,
                _ => x.nobody_udp_connected,
            };
            let mut lines = vec![];
            if let Some(&n) = f.sent.first() {
                let n = bytes(n);
                lines.push(Line::new("ok", fill(x.nobody_sent, &[("n", &n)])));
            }
            // The kernel's answer, as captured: a RST for TCP, ICMP for UDP — and who hears it.
            let wire = m.wire();
            match attempt.action {
                Action::NobodyTcp if wire.saw(attempt.id, Phase::Reset) => {
                    lines.push(Line::new("info", x.nobody_rst));
                }
                Action::NobodyUdp if wire.saw(attempt.id, Phase::Icmp) => {
                    lines.push(Line::new("info", x.nobody_icmp_untold));
                }
                Action::NobodyUdpConnected if wire.saw(attempt.id, Phase::Icmp) => {
                    lines.push(Line::new("info", x.nobody_icmp_told));
                }
                _ => {}
            }
            if f.no_reply {
                lines.push(Line::new("bad", x.nobody_no_reply));
            }
            lines.extend(super::error_line(m, c, attempt.id));
            if f.connected.is_some() {
                lines.push(Line::new("bad", x.nobody_connected));
            }
            if lines.len() < 2 && f.error.is_none() && !f.no_reply {
                lines.push(Line::new("wait", x.waiting));
            }
            Block {
                title: title.to_string(),
                lines,
            }
        })
        .collect()
}
