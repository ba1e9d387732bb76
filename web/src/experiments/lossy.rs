//! 9. A lossy link: TCP's reliability made visible.
//!
//! The link to a lab server of the learner's own really loses and delays packets, in the
//! kernel (the bridge's `impair`), so the kernel's TCP really retransmits. What is shown comes
//! from what really happened: every byte of the echo compared, the link's own counts, the
//! timeline's marks (segments lost on the link, duplicate ACKs, retransmissions), the kernel's
//! `TCP_INFO` (retransmissions, congestion window, smoothed RTT) as it changed; for UDP, which
//! numbered datagrams came back, in which order, how often.

use super::{Action, Block, Control, LOSSY_TCP, LOSSY_UDP, Line, Params};
use crate::i18n::{Catalog, fill, fill_owned};
use crate::model::Model;
use crate::present::{bytes, micros};
use protocol::{
    Bytes, Command, FileSource, Impair, ImpairState, LabSpec, SocketId, Target, Transport,
};

/// Messages (TCP) and datagrams (UDP) per click: under the bridge's 16 queued commands per
/// socket, and enough segments for a loss to show.
pub(crate) const COUNT: usize = 12;
/// Bytes per TCP message: a dozen of them make a dozen segments, and a window to shrink.
const MESSAGE: usize = 1000;
/// The bridge's longest delay per direction.
pub(crate) const MAX_DELAY_MS: u64 = 2000;
/// The file sent through the link.
const FILE: u64 = 256 * 1024;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Run {
    /// The TCP connection and the bytes its echo should be.
    pub(crate) tcp: Option<(SocketId, Vec<u8>)>,
    pub(crate) udp: Option<SocketId>,
}

pub(crate) fn controls(c: &Catalog) -> Vec<Control> {
    let x = c.x;
    vec![
        Control::Number {
            key: "loss",
            label: x.lossy_loss,
            value: 20,
            min: 0,
            max: 100,
        },
        Control::Number {
            key: "delay",
            label: x.lossy_delay,
            value: 20,
            min: 0,
            max: MAX_DELAY_MS,
        },
        Control::Button {
            label: x.lossy_tcp,
            action: Action::LossyTcp,
        },
        Control::Button {
            label: x.lossy_udp,
            action: Action::LossyUdp,
        },
        Control::Button {
            label: x.lossy_file_tcp,
            action: Action::LossyFileTcp,
        },
        Control::Button {
            label: x.lossy_file_udp,
            action: Action::LossyFileUdp,
        },
    ]
}

/// Message `n`: "message 01 " and letters up to [`MESSAGE`] bytes.
fn message(n: usize) -> Vec<u8> {
    let mut m = format!("message {n:02} ").into_bytes();
    m.extend((0..MESSAGE - m.len()).map(|i| b'a' + (i % 26) as u8));
    m
}

/// (Re)starts the lab server of `transport` with the link's settings.
fn lab(transport: Transport, p: &Params) -> Command {
    let impair = Impair {
        loss_pct: p.number("loss", 20, 0, 100) as u8,
        delay_ms: p.number("delay", 20, 0, MAX_DELAY_MS) as u32,
        ..Impair::default()
    };
    let server = match transport {
        Transport::Tcp => LOSSY_TCP,
        Transport::Udp => LOSSY_UDP,
    };
    Command::LabStart {
        server,
        spec: LabSpec {
            impair: Some(impair),
            ..LabSpec::tutorial(transport)
        },
    }
}

pub(crate) fn run(m: &mut Model, action: Action, p: &Params) -> Vec<Command> {
    let mut commands = vec![];
    match action {
        Action::LossyTcp => {
            commands.push(lab(Transport::Tcp, p));
            if let Some((old, _)) = m.runs.lossy.tcp.take() {
                commands.splice(0..0, m.release(old, true));
            }
            let id = m.new_id();
            let messages: Vec<Vec<u8>> = (1..=COUNT).map(message).collect();
            m.runs.lossy.tcp = Some((id, messages.concat().to_ascii_uppercase()));
            commands.push(Command::TcpConnect {
                id,
                to: Target::Lab(LOSSY_TCP),
            });
            commands.push(Command::TcpSendBurst {
                id,
                messages: messages.into_iter().map(Bytes).collect(),
                framing: protocol::Framing::None,
            });
        }
        Action::LossyUdp => {
            commands.push(lab(Transport::Udp, p));
            if let Some(old) = m.runs.lossy.udp.take() {
                commands.splice(0..0, m.release(old, false));
            }
            let id = m.new_id();
            m.runs.lossy.udp = Some(id);
            for n in 1..=COUNT {
                commands.push(Command::UdpSend {
                    id,
                    data: format!("{n:02}").into_bytes().into(),
                    to: Target::Lab(LOSSY_UDP),
                    connected: false,
                });
            }
        }
        _ => {
            let (transport, server) = if action == Action::LossyFileUdp {
                (Transport::Udp, LOSSY_UDP)
            } else {
                (Transport::Tcp, LOSSY_TCP)
            };
            commands.push(lab(transport, p));
            let source = FileSource::Generated { size: FILE };
            let to = Target::Lab(server);
            commands.extend(super::file::start(m, transport, source, None, to));
        }
    }
    commands
}

pub(crate) fn results(m: &Model, c: &Catalog) -> Vec<Block> {
    let x = c.x;
    let mut blocks = vec![];
    let why = match m.impair() {
        Some(ImpairState::NoPermission { hint }) => Some(hint.clone()),
        Some(ImpairState::Failed { message }) => Some(message.clone()),
        Some(ImpairState::Off) => Some("--no-impair".into()),
        _ => None,
    };
    if let Some(why) = why {
        blocks.push(Block {
            title: x.lossy_title.into(),
            lines: vec![Line::new(
                "bad",
                fill(x.lossy_unavailable, &[("why", &why)]),
            )],
        });
    }
    // Each run restarts its lab server, so the link's counts are those of the latest run on
    // that server (socket ids only grow): they go with that run's card, and no other.
    let file = m
        .runs
        .file
        .as_ref()
        .filter(|f| matches!(f.to, Target::Lab(LOSSY_TCP | LOSSY_UDP)));
    let tcp = m.runs.lossy.tcp.as_ref().map(|(id, _)| *id);
    let udp = m.runs.lossy.udp;
    let latest = |server| {
        let run = if server == LOSSY_TCP { tcp } else { udp };
        let file = file.filter(|f| f.to == Target::Lab(server)).map(|f| f.id);
        run.max(file)
    };
    if let Some((id, expected)) = &m.runs.lossy.tcp {
        let link = latest(LOSSY_TCP) == Some(*id);
        blocks.push(tcp_block(m, c, *id, expected, link));
    }
    if let Some(id) = udp {
        blocks.push(udp_block(m, c, id, latest(LOSSY_UDP) == Some(id)));
    }
    if let Some(f) = file {
        let mut file_blocks = super::file::results(m, c);
        if let Target::Lab(server) = f.to
            && latest(server) == Some(f.id)
            && let Some(block) = file_blocks.first_mut()
        {
            block.lines.extend(link_line(m, c, server));
        }
        blocks.extend(file_blocks);
    }
    blocks
}

/// The link's own counts for lab server `server`, as a line.
fn link_line(m: &Model, c: &Catalog, server: protocol::ServerId) -> Option<Line> {
    let s = m.facts().lab(server)?.link?;
    let values = [
        ("packets", s.packets.to_string()),
        ("dropped", s.dropped.to_string()),
        ("delayed", s.delayed.to_string()),
    ];
    Some(Line::new("info", fill_owned(c.x.lossy_link, &values)))
}

/// `link`: whether the link's counts are this run's (it is the latest on its server).
fn tcp_block(m: &Model, c: &Catalog, id: SocketId, expected: &[u8], link: bool) -> Block {
    let x = c.x;
    let f = m.facts().socket(id);
    let echoed: Vec<u8> = f.map(|f| f.received.concat()).unwrap_or_default();
    let mut lines = vec![];
    let values = [
        ("echoed", bytes(echoed.len())),
        ("sent", bytes(expected.len())),
    ];
    let whole = echoed.len() >= expected.len();
    let kind = if whole { "ok" } else { "wait" };
    lines.push(Line::new(kind, fill_owned(x.lossy_tcp_bytes, &values)));
    // Did the kernel resend anything? The timeline's marks, or the client's TCP_INFO.
    let resent = f.and_then(|f| f.connected).is_some_and(|(local, _, _)| {
        let marks = m.wire().loss_marks(local);
        marks.fast + marks.timer > 0
    }) || f
        .and_then(|f| f.info.back())
        .is_some_and(|i| i.total_retrans > 0);
    if whole {
        if echoed == expected {
            // "TCP resent what the link lost" only when it did (a lost pure ACK needs no resend).
            let text = if resent {
                x.lossy_tcp_intact
            } else {
                x.lossy_tcp_in_order
            };
            lines.push(Line::new("ok", text));
        } else {
            lines.push(Line::new("bad", c.x.file_differ));
        }
    }
    if link {
        lines.extend(link_line(m, c, LOSSY_TCP));
    }
    if let Some((local, _, _)) = f.and_then(|f| f.connected) {
        let marks = m.wire().loss_marks(local);
        let values = [
            ("lost", marks.lost.to_string()),
            ("fast", marks.fast.to_string()),
            ("timer", marks.timer.to_string()),
            ("dupacks", marks.dupacks.to_string()),
        ];
        lines.push(Line::new("info", fill_owned(x.lossy_tcp_marks, &values)));
    }
    let samples = f.map(|f| &f.info);
    if let Some(last) = samples.and_then(|s| s.back()) {
        let n = last.total_retrans.to_string();
        let kind = if last.total_retrans > 0 { "ok" } else { "info" };
        lines.push(Line::new(kind, fill(x.lossy_retrans, &[("n", &n)])));
        let samples = samples.expect("has a last sample");
        let cwnd: Vec<u64> = samples.iter().map(|i| u64::from(i.cwnd)).collect();
        let rtt: Vec<u64> = samples.iter().map(|i| u64::from(i.rtt_us)).collect();
        // The chart's top stands for the highest value: the text says which.
        let highest = |v: &[u64]| v.iter().copied().max().unwrap_or(0);
        let values = [
            ("now", last.cwnd.to_string()),
            ("max", highest(&cwnd).to_string()),
        ];
        lines.push(Line::new("chart", fill_owned(x.lossy_cwnd, &values)).points(cwnd));
        let values = [
            ("now", micros(last.rtt_us.into())),
            ("max", micros(highest(&rtt))),
        ];
        lines.push(Line::new("chart", fill_owned(x.lossy_rtt, &values)).points(rtt));
    }
    lines.extend(super::error_line(m, c, id));
    Block {
        title: x.lossy_tcp_title.into(),
        lines,
    }
}

fn udp_block(m: &Model, c: &Catalog, id: SocketId, link: bool) -> Block {
    let x = c.x;
    // The numbers that came back, in the order they came ("01" … "12", uppercased: the same).
    let back: Vec<usize> = m
        .facts()
        .socket(id)
        .map(|f| {
            f.received
                .iter()
                .filter_map(|d| std::str::from_utf8(d).ok()?.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    let sent = m.facts().socket(id).map_or(0, |f| f.sent.len());
    let missing: Vec<usize> = (1..=sent).filter(|n| !back.contains(n)).collect();
    let mut seen = vec![];
    let (mut reordered, mut twice, mut highest) = (0, 0, 0);
    for &n in &back {
        if seen.contains(&n) {
            twice += 1;
            continue;
        }
        if n < highest {
            reordered += 1;
        }
        highest = highest.max(n);
        seen.push(n);
    }
    let values = [
        ("sent", sent.to_string()),
        ("back", seen.len().to_string()),
        ("reordered", reordered.to_string()),
        ("dup", twice.to_string()),
    ];
    let mut lines = vec![Line::new("info", fill_owned(x.lossy_udp_counts, &values))];
    if !missing.is_empty() {
        let chips = missing.iter().map(|n| format!("#{n:02}")).collect();
        // Lost for sure once the bridge's wait for a reply ran out (2 s of silence).
        let done = m.facts().socket(id).is_some_and(|f| f.no_reply);
        let (kind, text) = if done {
            ("bad", x.lossy_udp_missing)
        } else {
            ("wait", x.lossy_udp_pending)
        };
        lines.push(Line::new(kind, text).chips(chips));
    }
    if link {
        lines.extend(link_line(m, c, LOSSY_UDP));
    }
    lines.push(Line::new("info", x.lossy_udp_note));
    lines.extend(super::error_line(m, c, id));
    Block {
        title: x.lossy_udp_title.into(),
        lines,
    }
}
