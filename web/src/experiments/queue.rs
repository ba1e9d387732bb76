//! 5. One client at a time vs concurrent, and the `listen(5)` accept queue, live from the kernel.

use super::{Action, Block, CONCURRENT, Control, Line, ONE_AT_A_TIME, Params};
use crate::i18n::{Catalog, fill, fill_owned};
use crate::model::Model;
use protocol::{Command, LabSpec, ServerId, SocketId, Target, Transport};

/// Clients kept in view.
const SHOWN: usize = 12;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Run {
    /// The server the clients connect to (started on the first "open").
    pub(crate) server: Option<ServerId>,
    /// (client number, socket), oldest first.
    pub(crate) clients: Vec<(u32, SocketId)>,
    pub(crate) next: u32,
}

pub(crate) fn controls(c: &Catalog) -> Vec<Control> {
    let x = c.x;
    vec![
        Control::Select {
            key: "server",
            label: x.queue_server,
            options: vec![("one", x.queue_one), ("many", x.queue_many)],
        },
        Control::Button {
            label: x.queue_open,
            action: Action::QueueOpen,
        },
        Control::Button {
            label: x.queue_close,
            action: Action::QueueClose,
        },
    ]
}

pub(crate) fn run(m: &mut Model, action: Action, p: &Params) -> Vec<Command> {
    let mut commands = vec![];
    match action {
        Action::QueueOpen => {
            let server = if p.text("server") == "many" {
                CONCURRENT
            } else {
                ONE_AT_A_TIME
            };
            if m.runs.queue.server != Some(server) {
                // Another server: start it, and let the old clients go (those still open: a
                // closed one has nothing to close, and asking would be an error).
                let clients: Vec<_> = m.runs.queue.clients.drain(..).collect();
                for (_, id) in clients {
                    let open = m
                        .facts()
                        .socket(id)
                        .is_none_or(|f| f.closed.is_none() && f.error.is_none());
                    if open {
                        commands.push(Command::TcpClose { id });
                    }
                }
                // The queue needs up to eight clients of the session's sockets: let the other
                // experiments' finished runs go (their results stay on their tabs).
                commands.extend(release_finished_runs(m));
                let spec = LabSpec {
                    one_at_a_time: server == ONE_AT_A_TIME,
                    ..LabSpec::tutorial(Transport::Tcp)
                };
                commands.push(Command::LabStart { server, spec });
                m.runs.queue.server = Some(server);
            }
            let id = m.new_id();
            m.runs.queue.next += 1;
            let n = m.runs.queue.next;
            if m.runs.queue.clients.len() == SHOWN {
                let (_, old) = m.runs.queue.clients.remove(0);
                commands.extend(m.release(old, true));
            }
            m.runs.queue.clients.push((n, id));
            commands.push(Command::TcpConnect {
                id,
                to: Target::Lab(server),
            });
            let data = format!("hello from client {n}");
            commands.push(Command::TcpSend {
                id,
                data: data.as_str().into(),
            });
        }
        _ => {
            let facts = m.facts();
            let oldest_open = m.runs.queue.clients.iter().find(|(_, id)| {
                facts
                    .socket(*id)
                    .is_some_and(|f| f.connected.is_some() && f.closed.is_none())
            });
            if let Some(&(_, id)) = oldest_open {
                commands.push(Command::TcpClose { id });
            }
        }
    }
    commands
}

pub(crate) fn results(m: &Model, c: &Catalog) -> Vec<Block> {
    let x = c.x;
    let Some(server) = m.runs.queue.server else {
        return vec![];
    };
    let mut lines = vec![];
    if let Some((queued, backlog)) = m.facts().lab(server).and_then(|l| l.queue) {
        let values = [
            ("queued", queued.to_string()),
            ("backlog", backlog.to_string()),
        ];
        let kind = if queued > backlog { "bad" } else { "info" };
        lines.push(Line::new(kind, fill_owned(x.queue_depth, &values)));
        if let Some(n) = m.facts().lab(server).and_then(|l| l.overflows) {
            let n = n.to_string();
            // While a client's connect() is still out, its kernel is sending SYNs again; once
            // every client got in (or gave up), the count is history.
            let retrying = m.runs.queue.clients.iter().any(|&(_, id)| {
                m.facts().socket(id).is_none_or(|f| {
                    f.connected.is_none() && f.error.is_none() && f.closed.is_none()
                })
            });
            let line = if retrying {
                Line::new("bad", fill(x.queue_overflows, &[("n", &n)]))
            } else {
                Line::new("info", fill(x.queue_overflows_past, &[("n", &n)]))
            };
            lines.push(line);
        }
    }
    for &(n, id) in &m.runs.queue.clients {
        let f = m.facts().socket(id).cloned().unwrap_or_default();
        let (kind, state) = if f.error.is_some() {
            ("bad", String::new())
        } else if f.closed.is_some() {
            ("info", x.queue_closed.to_string())
        } else if !f.received.is_empty() {
            ("ok", x.queue_served.to_string())
        } else if f.connected.is_some() {
            ("wait", x.queue_waiting.to_string())
        } else {
            // Not a failure: the kernel keeps retrying the SYN while the queue is full.
            ("wait", x.queue_connecting.to_string())
        };
        let label = fill(x.queue_client, &[("n", &n.to_string())]);
        lines.push(Line::new(kind, format!("{label}{state}")));
        lines.extend(super::error_line(m, c, id));
    }
    let title = if server == ONE_AT_A_TIME {
        x.queue_one
    } else {
        x.queue_many
    };
    vec![Block {
        title: title.to_string(),
        lines,
    }]
}

/// Closes the sockets the sticky, empty and bigger experiments keep after a run (they hold them
/// for their results; the session's socket limit is 16).
fn release_finished_runs(m: &mut Model) -> Vec<Command> {
    let mut held = vec![];
    if let Some(run) = &m.runs.sticky {
        held.extend([(run.tcp, true), (run.udp, false)]);
    }
    held.extend(m.runs.empty.tcp.map(|id| (id, true)));
    held.extend(m.runs.empty.udp.map(|id| (id, false)));
    held.extend(m.runs.big.tcp.map(|(id, _)| (id, true)));
    held.extend(m.runs.big.udp.map(|(id, _)| (id, false)));
    held.into_iter()
        .filter_map(|(id, tcp)| m.release(id, tcp))
        .collect()
}
