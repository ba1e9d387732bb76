//! 7. Sending a file: TCP line by line with a SHA-256 check, UDP as counted datagrams.
//!
//! A generated file is made by the bridge (nothing to upload, any size up to its limit). A file
//! the learner picks is uploaded in chunks, at most [`WINDOW`] chunks ahead of what the bridge
//! has sent on, so neither side queues more than a little.

use super::{Action, Block, Control, Line, Params};
use crate::i18n::{Catalog, fill, fill_owned};
use crate::model::Model;
use crate::present::{bytes, fixed};
use protocol::{Command, FileSource, SocketId, Target, Transport};

/// Upload chunk: comfortably under the bridge's 64 KiB message limit.
pub(crate) const CHUNK: usize = 32 * 1024;
/// Chunks uploaded ahead of the bridge's progress.
pub(crate) const WINDOW: usize = 8;
/// The generated file's largest size, in KiB (the bridge's limit is 64 MiB).
pub(crate) const MAX_KIB: u64 = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Run {
    pub(crate) id: SocketId,
    pub(crate) transport: Transport,
    pub(crate) total: u64,
    pub(crate) name: Option<String>,
    /// Where it goes: the shared echo server, or the lossy link's lab server.
    pub(crate) to: Target,
}

/// A picked file being uploaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Upload {
    pub(crate) id: SocketId,
    pub(crate) data: Vec<u8>,
    /// Bytes handed to the bridge so far.
    pub(crate) offset: usize,
}

pub(crate) fn controls(c: &Catalog) -> Vec<Control> {
    let x = c.x;
    vec![
        Control::File {
            key: "file",
            label: x.file_pick,
        },
        Control::Number {
            key: "size",
            label: x.file_size,
            value: 1024,
            min: 1,
            max: MAX_KIB,
        },
        Control::Button {
            label: x.file_tcp,
            action: Action::FileTcp,
        },
        Control::Button {
            label: x.file_udp,
            action: Action::FileUdp,
        },
        Control::Button {
            label: x.file_cancel,
            action: Action::FileCancel,
        },
    ]
}

fn transport(action: Action) -> Transport {
    if action == Action::FileUdp {
        Transport::Udp
    } else {
        Transport::Tcp
    }
}

/// Is a transfer running (an upload being handed over, or a transfer with neither a result nor
/// an error yet)?
pub(crate) fn running(m: &Model) -> bool {
    m.runs.upload.is_some()
        || m.runs.file.as_ref().is_some_and(|run| {
            m.facts().socket(run.id).is_none_or(|f| {
                f.error.is_none() && f.file.as_ref().is_none_or(|f| f.result.is_none())
            })
        })
}

/// Starts a transfer of a generated file, or cancels the current one.
pub(crate) fn run(m: &mut Model, action: Action, p: &Params) -> Vec<Command> {
    if action == Action::FileCancel {
        m.runs.upload = None;
        return match &m.runs.file {
            Some(run) => vec![Command::FileCancel { id: run.id }],
            None => vec![],
        };
    }
    let size = p.number("size", 1024, 1, MAX_KIB) * 1024;
    start(
        m,
        transport(action),
        FileSource::Generated { size },
        None,
        Target::Echo,
    )
}

/// Starts a transfer of a picked file's bytes.
pub(crate) fn upload(m: &mut Model, action: Action, name: String, data: Vec<u8>) -> Vec<Command> {
    let source = FileSource::Upload {
        name: name.clone(),
        size: data.len() as u64,
    };
    let mut commands = start(m, transport(action), source, Some(name), Target::Echo);
    if let Some(run) = &m.runs.file {
        m.runs.upload = Some(Upload {
            id: run.id,
            data,
            offset: 0,
        });
        commands.extend(pump(m));
    }
    commands
}

pub(crate) fn start(
    m: &mut Model,
    transport: Transport,
    source: FileSource,
    name: Option<String>,
    to: Target,
) -> Vec<Command> {
    let mut commands = vec![];
    // A transfer still running is cancelled; a finished one has nothing left to cancel.
    if let Some(old) = m.runs.file.take() {
        let done = m
            .facts()
            .socket(old.id)
            .and_then(|f| f.file.as_ref())
            .is_some_and(|f| f.result.is_some());
        if !done {
            commands.push(Command::FileCancel { id: old.id });
        }
    }
    let total = match &source {
        FileSource::Generated { size } | FileSource::Upload { size, .. } => *size,
    };
    let id = m.new_id();
    m.runs.file = Some(Run {
        id,
        transport,
        total,
        name,
        to,
    });
    commands.push(Command::FileStart {
        id,
        transport,
        to,
        source,
        datagram: 1024,
    });
    commands
}

/// The next chunks of the upload, as far as the window allows.
pub(crate) fn pump(m: &mut Model) -> Vec<Command> {
    let Some(up) = &m.runs.upload else {
        return vec![];
    };
    let sent_on = m
        .facts()
        .socket(up.id)
        .and_then(|f| f.file.as_ref())
        .map_or(0, |f| f.progress.bytes_sent as usize);
    let mut commands = vec![];
    let up = m.runs.upload.as_mut().expect("checked above");
    while up.offset < up.data.len() && up.offset < sent_on + WINDOW * CHUNK {
        let end = (up.offset + CHUNK).min(up.data.len());
        let data = up.data[up.offset..end].to_vec().into();
        commands.push(Command::FileChunk { id: up.id, data });
        up.offset = end;
    }
    if up.offset == up.data.len() {
        m.runs.upload = None;
    }
    commands
}

pub(crate) fn results(m: &Model, c: &Catalog) -> Vec<Block> {
    let x = c.x;
    let Some(run) = &m.runs.file else {
        return vec![];
    };
    let f = m
        .facts()
        .socket(run.id)
        .and_then(|f| f.file.clone())
        .unwrap_or_default();
    let p = &f.progress;
    let mut lines = vec![];
    let values = [
        ("sent", bytes(p.bytes_sent as usize)),
        ("echoed", bytes(p.bytes_echoed as usize)),
        ("total", bytes(run.total as usize)),
    ];
    // ✓ only when the whole file went and all of it came back.
    let kind = match &f.result {
        None => "wait",
        Some(r) if !r.cancelled && p.bytes_sent == run.total && p.bytes_echoed == run.total => "ok",
        Some(_) => "bad",
    };
    lines.push(Line::new(kind, fill_owned(x.file_progress, &values)));
    let calls = [
        ("sends", p.sends.to_string()),
        ("recvs", p.recvs.to_string()),
    ];
    lines.push(Line::new("info", fill_owned(x.file_calls, &calls)));
    if let Some(result) = &f.result {
        if run.transport == Transport::Udp {
            let counts = [
                ("sent", p.sends.to_string()),
                ("received", p.recvs.to_string()),
                ("lost", result.lost.to_string()),
                ("reordered", p.reordered.to_string()),
                ("truncated", p.truncated.to_string()),
            ];
            let kind = if result.lost > 0 { "bad" } else { "ok" };
            lines.push(Line::new(kind, fill_owned(x.file_udp_counts, &counts)));
            if !result.missing.is_empty() {
                let mut chips: Vec<String> =
                    result.missing.iter().map(|n| format!("#{n}")).collect();
                // The bridge lists the first ones; say how many more there were.
                let more = result.lost.saturating_sub(result.missing.len() as u64);
                if more > 0 {
                    chips.push(fill(x.more_missing, &[("n", &more.to_string())]));
                }
                lines.push(Line::new("bad", x.lossy_udp_missing).chips(chips));
            }
        }
        if let Some(n) = result.retransmitted {
            let kind = if n > 0 { "ok" } else { "info" };
            let n = n.to_string();
            lines.push(Line::new(kind, fill(x.lossy_retrans, &[("n", &n)])));
        }
        let expected = &result.sha256_expected;
        let echoed = &result.sha256_echoed;
        // The bridge hashes what it sent: the whole file, or (cancelled) the part it sent.
        let expected_line = if p.bytes_sent == run.total {
            fill(x.file_expected, &[("hash", expected)])
        } else {
            let sent = bytes(p.bytes_sent as usize);
            fill(x.file_expected_part, &[("sent", &sent), ("hash", expected)])
        };
        lines.push(Line::new("info", expected_line));
        lines.push(Line::new("info", fill(x.file_echoed, &[("hash", echoed)])));
        if result.cancelled {
            lines.push(Line::new("bad", x.file_cancelled));
        } else if expected == echoed {
            lines.push(Line::new("ok", x.file_match));
        } else {
            lines.push(Line::new("bad", x.file_differ));
        }
        // Bytes per microsecond are megabytes per second; under one, kilobytes (a small file
        // would otherwise say "0.0 MB/s").
        let rate = if p.bytes_sent >= result.elapsed_us {
            format!("{} MB/s", fixed(p.bytes_sent, result.elapsed_us, 1))
        } else {
            format!("{} KB/s", fixed(p.bytes_sent * 1000, result.elapsed_us, 1))
        };
        lines.push(Line::new("info", fill(x.file_rate, &[("rate", &rate)])));
    }
    lines.extend(super::error_line(m, c, run.id));
    let proto = match run.transport {
        Transport::Tcp => "TCP",
        Transport::Udp => "UDP",
    };
    let name = run
        .name
        .clone()
        .unwrap_or_else(|| bytes(run.total as usize));
    vec![Block {
        title: format!("{proto} · {name}"),
        lines,
    }]
}
