//! The lab's experiments, as plain Rust: what each one shows, which controls it has, which
//! commands a click sends, and how its results are read from the facts the bridge reported.
//!
//! Nothing here touches the DOM: controls are *described* ([`Control`]) and results are
//! *described* ([`Block`]); the view draws any experiment the same way. So every experiment's
//! logic is tested natively, and adding one does not touch the view.
//!
//! Experiments that need a server with other settings start a lab server (see the bridge's
//! `session/lab.rs`) under a fixed id, so running again replaces it instead of piling up.

pub(crate) mod bigger;
pub(crate) mod empty;
pub(crate) mod file;
pub(crate) mod lossy;
pub(crate) mod nobody;
pub(crate) mod others;
pub(crate) mod queue;
pub(crate) mod sticky;
pub(crate) mod timewait;

use crate::i18n::Catalog;
use crate::model::Model;
use crate::vec_map::VecMap;
use protocol::{Command, ServerId};

/// Lab server ids, one per experiment server.
pub(crate) const STICKY_TCP: ServerId = 1;
pub(crate) const STICKY_UDP: ServerId = 2;
pub(crate) const BIG_TCP: ServerId = 3;
pub(crate) const BIG_UDP: ServerId = 4;
pub(crate) const ONE_AT_A_TIME: ServerId = 5;
pub(crate) const CONCURRENT: ServerId = 6;
pub(crate) const RESTARTABLE: ServerId = 7;
/// The wire view's "four-way teardown" server (it waits before `close()`).
pub(crate) const TEARDOWN: ServerId = 8;
/// The lossy link's servers.
pub(crate) const LOSSY_TCP: ServerId = 9;
pub(crate) const LOSSY_UDP: ServerId = 10;

/// The console's tabs: the plain echo console, then one per experiment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tab {
    Echo,
    Sticky,
    Empty,
    Bigger,
    Nobody,
    Queue,
    TimeWait,
    File,
    Lossy,
    Others,
    Glossary,
}

impl Tab {
    pub(crate) const ALL: [Tab; 11] = [
        Tab::Echo,
        Tab::Sticky,
        Tab::Empty,
        Tab::Bigger,
        Tab::Nobody,
        Tab::Queue,
        Tab::TimeWait,
        Tab::File,
        Tab::Lossy,
        Tab::Others,
        Tab::Glossary,
    ];

    /// A stable name, for embedding options and tests.
    pub(crate) fn key(self) -> &'static str {
        match self {
            Tab::Echo => "echo",
            Tab::Sticky => "sticky",
            Tab::Empty => "empty",
            Tab::Bigger => "bigger",
            Tab::Nobody => "nobody",
            Tab::Queue => "queue",
            Tab::TimeWait => "time-wait",
            Tab::File => "file",
            Tab::Lossy => "lossy",
            Tab::Others => "others",
            Tab::Glossary => "glossary",
        }
    }

    pub(crate) fn from_key(key: &str) -> Option<Tab> {
        Tab::ALL.into_iter().find(|t| t.key() == key)
    }

    pub(crate) fn title(self, c: &Catalog) -> &'static str {
        let x = c.x;
        match self {
            Tab::Echo => x.tab_echo,
            Tab::Sticky => x.sticky_title,
            Tab::Empty => x.empty_title,
            Tab::Bigger => x.big_title,
            Tab::Nobody => x.nobody_title,
            Tab::Queue => x.queue_title,
            Tab::TimeWait => x.tw_title,
            Tab::File => x.file_title,
            Tab::Lossy => x.lossy_title,
            Tab::Others => x.others_title,
            Tab::Glossary => x.glossary_title,
        }
    }

    /// The 2–4 sentences that say what to look for and why.
    pub(crate) fn intro(self, c: &Catalog) -> &'static str {
        let x = c.x;
        match self {
            Tab::Echo => "",
            Tab::Sticky => x.sticky_intro,
            Tab::Empty => x.empty_intro,
            Tab::Bigger => x.big_intro,
            Tab::Nobody => x.nobody_intro,
            Tab::Queue => x.queue_intro,
            Tab::TimeWait => x.tw_intro,
            Tab::File => x.file_intro,
            Tab::Lossy => x.lossy_intro,
            Tab::Others => x.others_intro,
            Tab::Glossary => x.glossary_intro,
        }
    }

    /// The tab whose button asks for `action`.
    pub(crate) fn of(action: Action) -> Tab {
        use Action::*;
        match action {
            StickyRun => Tab::Sticky,
            EmptyTcp | EmptyUdp => Tab::Empty,
            BigTcp | BigUdp => Tab::Bigger,
            NobodyTcp | NobodyUdp | NobodyUdpConnected => Tab::Nobody,
            QueueOpen | QueueClose => Tab::Queue,
            TwConnect | TwServerClose | TwRestartWithout | TwRestartWith => Tab::TimeWait,
            FileTcp | FileUdp | FileCancel => Tab::File,
            LossyTcp | LossyUdp | LossyFileTcp | LossyFileUdp => Tab::Lossy,
        }
    }

    pub(crate) fn controls(self, c: &Catalog) -> Vec<Control> {
        match self {
            Tab::Echo => vec![],
            Tab::Sticky => sticky::controls(c),
            Tab::Empty => empty::controls(c),
            Tab::Bigger => bigger::controls(c),
            Tab::Nobody => nobody::controls(c),
            Tab::Queue => queue::controls(c),
            Tab::TimeWait => timewait::controls(c),
            Tab::File => file::controls(c),
            Tab::Lossy => lossy::controls(c),
            Tab::Others | Tab::Glossary => vec![],
        }
    }

    /// What the experiment shows now, from the model's facts.
    pub(crate) fn results(self, m: &Model, c: &Catalog) -> Vec<Block> {
        match self {
            Tab::Echo => vec![],
            Tab::Sticky => sticky::results(m, c),
            Tab::Empty => empty::results(m, c),
            Tab::Bigger => bigger::results(m, c),
            Tab::Nobody => nobody::results(m, c),
            Tab::Queue => queue::results(m, c),
            Tab::TimeWait => timewait::results(m, c),
            Tab::File => file::results(m, c),
            Tab::Lossy => lossy::results(m, c),
            Tab::Others => others::results(m, c),
            Tab::Glossary => glossary(c),
        }
    }
}

/// Whether a button's action can do anything now: the view disables those that cannot (a Cancel
/// with no transfer running would only earn an error).
pub(crate) fn available(m: &Model, action: Action) -> bool {
    match action {
        Action::FileCancel => file::running(m),
        _ => true,
    }
}

/// The glossary as result blocks: "中文 · English", then the explanation in the console's
/// language.
fn glossary(c: &Catalog) -> Vec<Block> {
    let chinese = c.lang == crate::i18n::Lang::ZhCn;
    crate::i18n::glossary::TERMS
        .iter()
        .map(|(zh, en, en_note, zh_note)| Block {
            title: format!("{zh} · {en}"),
            lines: vec![Line::new("info", if chinese { *zh_note } else { *en_note })],
        })
        .collect()
}

/// A control of an experiment, described for the view to build.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Control {
    Text {
        key: &'static str,
        label: &'static str,
        value: &'static str,
    },
    Number {
        key: &'static str,
        label: &'static str,
        value: u64,
        min: u64,
        max: u64,
    },
    Select {
        key: &'static str,
        label: &'static str,
        /// (value, label)
        options: Vec<(&'static str, &'static str)>,
    },
    File {
        key: &'static str,
        label: &'static str,
    },
    Button {
        label: &'static str,
        action: Action,
    },
}

/// What a button of an experiment asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    StickyRun,
    EmptyTcp,
    EmptyUdp,
    BigTcp,
    BigUdp,
    NobodyTcp,
    NobodyUdp,
    NobodyUdpConnected,
    QueueOpen,
    QueueClose,
    TwConnect,
    TwServerClose,
    TwRestartWithout,
    TwRestartWith,
    FileTcp,
    FileUdp,
    FileCancel,
    LossyTcp,
    LossyUdp,
    LossyFileTcp,
    LossyFileUdp,
}

impl Action {
    /// Every action with its name in a recording (snake case, stable).
    const NAMES: [(Action, &'static str); 21] = [
        (Action::StickyRun, "sticky_run"),
        (Action::EmptyTcp, "empty_tcp"),
        (Action::EmptyUdp, "empty_udp"),
        (Action::BigTcp, "big_tcp"),
        (Action::BigUdp, "big_udp"),
        (Action::NobodyTcp, "nobody_tcp"),
        (Action::NobodyUdp, "nobody_udp"),
        (Action::NobodyUdpConnected, "nobody_udp_connected"),
        (Action::QueueOpen, "queue_open"),
        (Action::QueueClose, "queue_close"),
        (Action::TwConnect, "tw_connect"),
        (Action::TwServerClose, "tw_server_close"),
        (Action::TwRestartWithout, "tw_restart_without"),
        (Action::TwRestartWith, "tw_restart_with"),
        (Action::FileTcp, "file_tcp"),
        (Action::FileUdp, "file_udp"),
        (Action::FileCancel, "file_cancel"),
        (Action::LossyTcp, "lossy_tcp"),
        (Action::LossyUdp, "lossy_udp"),
        (Action::LossyFileTcp, "lossy_file_tcp"),
        (Action::LossyFileUdp, "lossy_file_udp"),
    ];

    pub(crate) fn key(self) -> &'static str {
        Action::NAMES
            .iter()
            .find(|(a, _)| *a == self)
            .map_or("", |(_, k)| k)
    }

    pub(crate) fn from_key(key: &str) -> Option<Action> {
        Action::NAMES
            .iter()
            .find(|(_, k)| *k == key)
            .map(|(a, _)| *a)
    }
}

/// The values of an experiment's controls when a button was clicked, by control key.
#[derive(Debug, Clone, Default)]
pub(crate) struct Params(pub(crate) VecMap<String, String>);

impl Params {
    pub(crate) fn with(mut self, key: &str, value: &str) -> Params {
        self.0.insert(key.to_string(), value.to_string());
        self
    }

    pub(crate) fn text(&self, key: &str) -> &str {
        self.0.get(key).map(String::as_str).unwrap_or("")
    }

    /// "size=3000&buffer=1024", every byte but letters and digits as %XX: safe inside a JSON
    /// string as it is (a recording keeps the values of each click).
    pub(crate) fn encode(&self) -> String {
        let mut out = String::new();
        for (key, value) in self.0.iter() {
            if !out.is_empty() {
                out.push('&');
            }
            for (i, part) in [key, value].into_iter().enumerate() {
                if i == 1 {
                    out.push('=');
                }
                for b in part.bytes() {
                    if b.is_ascii_alphanumeric() {
                        out.push(b as char);
                    } else {
                        out.push_str(&format!("%{b:02X}"));
                    }
                }
            }
        }
        out
    }

    /// Reads back [`Params::encode`].
    pub(crate) fn decode(text: &str) -> Params {
        let unescape = |s: &str| -> String {
            let mut bytes = vec![];
            let mut rest = s.as_bytes();
            while let Some((&b, tail)) = rest.split_first() {
                if b == b'%' && tail.len() >= 2 {
                    let hex = std::str::from_utf8(&tail[..2]).unwrap_or("");
                    bytes.push(u8::from_str_radix(hex, 16).unwrap_or(b'?'));
                    rest = &tail[2..];
                } else {
                    bytes.push(b);
                    rest = tail;
                }
            }
            String::from_utf8_lossy(&bytes).into_owned()
        };
        let mut params = Params::default();
        for pair in text.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            params = params.with(&unescape(key), &unescape(value));
        }
        params
    }

    /// A number control's value; `default` when empty. [`run`] has refused the action already
    /// when the value is not a whole number in the control's range (the clamp is only a guard).
    pub(crate) fn number(&self, key: &str, default: u64, min: u64, max: u64) -> u64 {
        self.text(key)
            .trim()
            .parse::<u64>()
            .unwrap_or(default)
            .clamp(min, max)
    }
}

/// One box of results: a title and its lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Block {
    pub(crate) title: String,
    pub(crate) lines: Vec<Line>,
}

/// One line of results, with optional chips (e.g. each `recv()`'s bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Line {
    pub(crate) text: String,
    pub(crate) chips: Vec<String>,
    /// "ok", "bad", "wait", "info" or "chart": for styling and for tests.
    pub(crate) kind: &'static str,
    /// A chart's values over time (oldest first), drawn as a line; empty for text lines.
    pub(crate) points: Vec<u64>,
}

impl Line {
    pub(crate) fn new(kind: &'static str, text: impl Into<String>) -> Line {
        Line {
            text: text.into(),
            chips: vec![],
            kind,
            points: vec![],
        }
    }

    pub(crate) fn points(mut self, points: Vec<u64>) -> Line {
        self.points = points;
        self
    }

    pub(crate) fn chips(mut self, chips: Vec<String>) -> Line {
        self.chips = chips;
        self
    }
}

/// The error of socket `id` as a result line, if it has one.
pub(crate) fn error_line(m: &Model, c: &Catalog, id: protocol::SocketId) -> Option<Line> {
    let failure = m.facts().socket(id)?.error.as_ref()?;
    Some(Line::new("bad", crate::present::failure_text(c, failure)))
}

/// The experiments' runs: which sockets the last click of each experiment opened.
#[derive(Debug, Default)]
pub(crate) struct Runs {
    pub(crate) sticky: Option<sticky::Run>,
    pub(crate) empty: empty::Run,
    pub(crate) big: bigger::Run,
    pub(crate) nobody: Vec<nobody::Attempt>,
    pub(crate) queue: queue::Run,
    pub(crate) tw: timewait::Run,
    pub(crate) file: Option<file::Run>,
    pub(crate) upload: Option<file::Upload>,
    pub(crate) lossy: lossy::Run,
}

/// Carries out `action` with the experiment's control values; returns the commands to send.
pub(crate) fn run(m: &mut Model, action: Action, p: &Params) -> Vec<Command> {
    // Cancelling reads no control: it must work whatever the boxes hold.
    let reads_controls = action != Action::FileCancel;
    if let Some(refused) = out_of_range(Tab::of(action), p).filter(|_| reads_controls) {
        m.refuse(refused);
        return vec![];
    }
    match action {
        Action::StickyRun => sticky::run(m, p),
        Action::EmptyTcp | Action::EmptyUdp => empty::run(m, action),
        Action::BigTcp | Action::BigUdp => bigger::run(m, action, p),
        Action::NobodyTcp | Action::NobodyUdp | Action::NobodyUdpConnected => {
            nobody::run(m, action)
        }
        Action::QueueOpen | Action::QueueClose => queue::run(m, action, p),
        Action::TwConnect
        | Action::TwServerClose
        | Action::TwRestartWithout
        | Action::TwRestartWith => timewait::run(m, action, p),
        Action::FileTcp | Action::FileUdp | Action::FileCancel => file::run(m, action, p),
        Action::LossyTcp | Action::LossyUdp | Action::LossyFileTcp | Action::LossyFileUdp => {
            lossy::run(m, action, p)
        }
    }
}

/// A number control whose value is not a whole number in its range: nothing is sent, and the
/// learner is told the range (a value silently replaced would send what nobody asked for).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OutOfRange {
    pub(crate) tab: Tab,
    pub(crate) key: &'static str,
    pub(crate) value: String,
    pub(crate) min: u64,
    pub(crate) max: u64,
}

impl OutOfRange {
    /// The control's label in the catalog `c`.
    pub(crate) fn label(&self, c: &Catalog) -> &'static str {
        self.tab
            .controls(c)
            .into_iter()
            .find_map(|control| match control {
                Control::Number { key, label, .. } if key == self.key => Some(label),
                _ => None,
            })
            .unwrap_or(self.key)
    }
}

/// The first number control of `tab` whose value (when not empty) is out of range.
fn out_of_range(tab: Tab, p: &Params) -> Option<OutOfRange> {
    // The ranges are the same in every language; the English catalog gives them here.
    tab.controls(&crate::i18n::EN)
        .into_iter()
        .find_map(|control| {
            let Control::Number { key, min, max, .. } = control else {
                return None;
            };
            let value = p.text(key).trim();
            let fits =
                value.is_empty() || value.parse::<u64>().is_ok_and(|v| (min..=max).contains(&v));
            (!fits).then(|| OutOfRange {
                tab,
                key,
                value: value.to_string(),
                min,
                max,
            })
        })
}

#[cfg(test)]
mod tests;
