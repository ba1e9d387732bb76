//! 6. TIME_WAIT after the server's active close, and restarting with or without SO_REUSEADDR.

use super::{Action, Block, Control, Line, Params, RESTARTABLE};
use crate::i18n::{Catalog, fill};
use crate::model::Model;
use protocol::{Command, LabSpec, SocketId, Target, Transport};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Run {
    pub(crate) started: bool,
    pub(crate) client: Option<SocketId>,
}

pub(crate) fn controls(c: &Catalog) -> Vec<Control> {
    let x = c.x;
    vec![
        Control::Select {
            key: "first",
            label: x.tw_first,
            options: vec![("with", x.tw_first_with), ("without", x.tw_first_without)],
        },
        Control::Button {
            label: x.tw_connect,
            action: Action::TwConnect,
        },
        Control::Button {
            label: x.tw_server_close,
            action: Action::TwServerClose,
        },
        Control::Button {
            label: x.tw_restart_without,
            action: Action::TwRestartWithout,
        },
        Control::Button {
            label: x.tw_restart_with,
            action: Action::TwRestartWith,
        },
    ]
}

pub(crate) fn run(m: &mut Model, action: Action, p: &Params) -> Vec<Command> {
    let server = RESTARTABLE;
    let mut commands = vec![];
    // The server the client connects to: with SO_REUSEADDR (the tutorial's) or without. The
    // connection it accepts — and so its TIME_WAIT — keeps that setting.
    let reuseaddr = p.text("first") != "without";
    if !m.runs.tw.started {
        let spec = LabSpec {
            reuseaddr,
            ..LabSpec::tutorial(Transport::Tcp)
        };
        commands.push(Command::LabStart { server, spec });
        m.runs.tw.started = true;
    } else if action == Action::TwConnect
        && m.facts()
            .lab(server)
            .is_some_and(|l| l.spec.reuseaddr != reuseaddr || !l.running)
    {
        // Another setting, or a server a failed restart left stopped: (re)start it first
        // (without SO_REUSEADDR this fails while the old connection is in TIME_WAIT, and the
        // panel says so).
        commands.push(Command::LabRestart { server, reuseaddr });
    }
    match action {
        Action::TwConnect => {
            let id = m.new_id();
            if let Some(old) = m.runs.tw.client.replace(id) {
                // The server closed it in the last round: nothing to close then.
                commands.extend(m.release(old, true));
            }
            commands.push(Command::TcpConnect {
                id,
                to: Target::Lab(server),
            });
        }
        Action::TwServerClose => commands.push(Command::LabCloseClients { server }),
        Action::TwRestartWithout => commands.push(Command::LabRestart {
            server,
            reuseaddr: false,
        }),
        _ => commands.push(Command::LabRestart {
            server,
            reuseaddr: true,
        }),
    }
    commands
}

pub(crate) fn results(m: &Model, c: &Catalog) -> Vec<Block> {
    let x = c.x;
    let Some(lab) = m.facts().lab(RESTARTABLE) else {
        return vec![];
    };
    let addr = lab.addr.to_string();
    let mut server = vec![if lab.running {
        Line::new("ok", fill(x.tw_listening, &[("addr", &addr)]))
    } else {
        Line::new("info", fill(x.tw_stopped, &[("addr", &addr)]))
    }];
    if let Some(failure) = &lab.error {
        server.push(Line::new("bad", crate::present::failure_text(c, failure)));
    }
    let mut kernel: Vec<Line> = lab
        .sockets
        .iter()
        .map(|s| {
            let mut text = format!("{} → {}  {}", s.local, s.remote, s.state);
            if let Some(ms) = s.timer_ms.filter(|_| s.state == "TIME_WAIT") {
                let seconds = (ms / 1000).to_string();
                text += &format!(" · {}", fill(x.tw_left, &[("seconds", &seconds)]));
            }
            // "…", not "✗": TIME_WAIT is the kernel doing its job (waiting out late packets of
            // the old connection), not a failure; what fails is the restart, said above.
            let kind = if s.state == "TIME_WAIT" {
                "wait"
            } else {
                "info"
            };
            Line::new(kind, text)
        })
        .collect();
    if kernel.is_empty() {
        kernel.push(Line::new("info", x.tw_none));
    }
    vec![
        Block {
            title: x.tw_title.to_string(),
            lines: server,
        },
        Block {
            title: x.tw_kernel.to_string(),
            lines: kernel,
        },
    ]
}
