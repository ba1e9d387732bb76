//! A session saved as a file, and played back without a bridge.
//!
//! **Recording** keeps every frame the bridge sent, verbatim (the text as it arrived, never
//! re-encoded: what is saved is what was received). The file is JSON Lines: a first line that
//! says what the file is and whether it is whole, then one event per line exactly as the
//! bridge sent it, and, in their place among them, the console's own commands, each as
//! `{"console":<the frame it sent>}` (the bridge's events say how many bytes a `send()` sent;
//! the command says which). What makes a recording honest is inside it: each session's `hello` says when
//! the session began (`started_unix_us`), on which kernel, with which bridge version, limits,
//! capture and impairments.
//!
//! **Replay** decodes those lines back into events and hands them to the same [`Model`] a live
//! session feeds, so the log, the timeline and the experiments' results are drawn by the same
//! code. Pacing follows the recorded times (scaled by the chosen speed); the times shown are the
//! recorded ones, whatever the pace.
//!
//! [`Model`]: super::Model

use protocol::{Event, EventBody};

/// Most bytes of frames a console keeps for its recording. A session of echoes and experiments
/// is well under 1 MiB; a 64 MiB file transfer reports progress, not its bytes, so stays small
/// too. 8 MiB bounds what a console left open for a day can hold (per console: a tutorial page
/// with six consoles holds at most 48 MiB). Past it, recording stops (the file says so) rather
/// than dropping frames from the middle, which would make the replay untrue.
pub(crate) const MAX_RECORDING_BYTES: usize = 8 << 20;

/// The longest pause a replay makes between two events, in ms. A learner who waited a minute
/// before the next click should not make every reader wait a minute; the times shown are the
/// recorded ones, so shortening the pause hides nothing.
pub(crate) const MAX_PAUSE_MS: u64 = 1500;

use protocol::recording::{self as format, FORMAT, Line};

/// The frames of a live session, kept as they arrived.
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    frames: Vec<String>,
    bytes: usize,
    /// Recording stopped at [`MAX_RECORDING_BYTES`]: later frames are not in the file.
    full: bool,
}

impl Recorder {
    /// Keeps one frame from the bridge, as received.
    pub(crate) fn keep(&mut self, frame: &str) {
        self.push(frame.to_string());
    }

    /// Keeps a click on an experiment's button: its action, its controls' values, and the
    /// console's next socket id then (so that a replay gives its sockets the same ids).
    pub(crate) fn keep_action(&mut self, action: &str, next_id: protocol::SocketId, params: &str) {
        self.push(format::action_line(action, next_id, params));
    }

    /// Keeps one frame the console sent.
    pub(crate) fn keep_sent(&mut self, frame: &str) {
        self.push(format::console_line(frame));
    }

    fn push(&mut self, line: String) {
        if self.full || self.bytes + line.len() > MAX_RECORDING_BYTES {
            self.full = true;
            return;
        }
        self.bytes += line.len();
        self.frames.push(line);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// The recording file: the header line, then every frame. `saved_unix_ms` is when it was
    /// saved; `bridge` the URL the frames came from.
    pub(crate) fn file(&self, saved_unix_ms: u64, bridge: &str) -> String {
        let mut out = format::header(saved_unix_ms, bridge, self.frames.len(), !self.full);
        out.push('\n');
        for frame in &self.frames {
            out.push_str(frame);
            out.push('\n');
        }
        out
    }
}

/// Why a file is not a recording this console can play.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BadRecording {
    /// The first line does not say `"format":"socket-lab-recording"`.
    NotARecording,
    /// Line `line` (1-based) is not an event this console understands.
    BadLine { line: usize, reason: String },
    /// No session in it: no `hello`.
    Empty,
}

impl std::fmt::Display for BadRecording {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BadRecording::NotARecording => write!(
                f,
                "not a Socket Lab recording (its first line lacks \"format\":\"{FORMAT}\")"
            ),
            BadRecording::BadLine { line, reason } => write!(f, "line {line}: {reason}"),
            BadRecording::Empty => write!(f, "no session in it (no hello)"),
        }
    }
}

/// Who made a recording: the first session's start (µs since the epoch), the bridge's version
/// and the kernel, from its `hello`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct MadeBy {
    pub(crate) started_unix_us: u64,
    pub(crate) bridge_version: String,
    pub(crate) kernel: String,
}

/// One line of a recording, read back.
#[derive(Debug)]
pub(crate) enum Item {
    /// An event from the bridge.
    Event(Box<Event>),
    /// The console sent these bytes on socket `id` (a `tcp_send` or `udp_send`).
    Sent(protocol::SocketId, Vec<u8>),
    /// The learner clicked an experiment's button (see [`Recorder::keep_action`]).
    Action {
        action: crate::experiments::Action,
        next_id: protocol::SocketId,
        params: String,
    },
}

/// A recording being played.
#[derive(Debug)]
pub(crate) struct Replay {
    /// What is still to play, in order.
    events: std::collections::VecDeque<Item>,
    /// Lines played, and in all.
    next: usize,
    total: usize,
    /// The time of the last event played (the console's sends have none of their own).
    last_t_us: Option<u64>,
    pub(crate) playing: bool,
    /// Speed in percent: 100 is the recorded pace.
    pub(crate) speed: u32,
    pub(crate) made_by: MadeBy,
    /// The file said it was cut short ([`MAX_RECORDING_BYTES`]).
    pub(crate) complete: bool,
}

impl Replay {
    /// Reads a recording file.
    pub(crate) fn parse(text: &str) -> Result<Replay, BadRecording> {
        let mut lines = text.lines().enumerate();
        let header = lines.next().map(|(_, l)| l).unwrap_or("");
        let complete = format::read_header(header).ok_or(BadRecording::NotARecording)?;
        let mut events = vec![];
        for (i, line) in lines {
            if line.trim().is_empty() {
                continue;
            }
            let bad = |reason: String| BadRecording::BadLine {
                line: i + 1,
                reason,
            };
            match format::line(line).map_err(|e| bad(e.into()))? {
                Line::Action {
                    name,
                    next_id,
                    params,
                } => events.push(Item::Action {
                    action: crate::experiments::Action::from_key(name)
                        .ok_or_else(|| bad(format!("no action \"{name}\"")))?,
                    next_id,
                    params: params.to_string(),
                }),
                // The console's other commands are in the file for the reader; replay needs
                // only the bytes of its sends.
                Line::Console(sent) => {
                    if let Some((id, data)) = protocol::sent_data(sent) {
                        events.push(Item::Sent(id, data.0));
                    }
                }
                Line::Event(text) => {
                    let event = Event::from_json(text).map_err(|e| bad(e.to_string()))?;
                    events.push(Item::Event(Box::new(event)));
                }
            }
        }
        let made_by = events
            .iter()
            .find_map(|e| match e {
                Item::Event(e) => match &e.body {
                    EventBody::Hello {
                        started_unix_us,
                        bridge_version,
                        kernel,
                        ..
                    } => Some(MadeBy {
                        started_unix_us: *started_unix_us,
                        bridge_version: bridge_version.clone(),
                        kernel: kernel.clone(),
                    }),
                    _ => None,
                },
                Item::Sent(..) | Item::Action { .. } => None,
            })
            .ok_or(BadRecording::Empty)?;
        Ok(Replay {
            total: events.len(),
            events: events.into(),
            last_t_us: None,
            next: 0,
            playing: true,
            speed: 100,
            made_by,
            complete,
        })
    }

    /// Events played so far, and in all.
    pub(crate) fn progress(&self) -> (usize, usize) {
        (self.next, self.total)
    }

    pub(crate) fn done(&self) -> bool {
        self.events.is_empty()
    }

    /// How long to wait before the next event, in ms at the current speed: the recorded gap
    /// (its `t_us` minus the last one's), at most [`MAX_PAUSE_MS`]; none at a new session.
    pub(crate) fn wait_ms(&self) -> Option<u64> {
        let Item::Event(next) = self.events.front()? else {
            return Some(0);
        };
        let Some(last_t_us) = self.last_t_us else {
            return Some(0);
        };
        if matches!(next.body, EventBody::Hello { .. }) {
            return Some(0);
        }
        let gap_us = next.t_us.saturating_sub(last_t_us);
        let at_speed = gap_us / 10 / u64::from(self.speed.max(1));
        Some(at_speed.min(MAX_PAUSE_MS))
    }

    /// The next line.
    pub(crate) fn take(&mut self) -> Option<Item> {
        let item = self.events.pop_front()?;
        self.next += 1;
        if let Item::Event(e) = &item {
            self.last_t_us = Some(e.t_us);
        }
        Some(item)
    }

    /// "Step": the events up to and including the next socket call (packets and kernel states
    /// on the way come with it).
    pub(crate) fn step(&mut self) -> Vec<Item> {
        let mut out = vec![];
        while let Some(event) = self.take() {
            let call = matches!(&event, Item::Event(e) if !matches!(
                e.body,
                EventBody::Packet { .. } | EventBody::TcpState { .. } | EventBody::Hello { .. }
            ));
            out.push(event);
            if call {
                break;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    const HELLO: &str = r#"{"v":1,"t_us":0,"type":"hello","tcp_server":"127.0.0.1:8080","udp_server":"127.0.0.1:8081","limits":{"max_message":65536,"max_sockets":16},"started_unix_us":1795000000000000,"bridge_version":"0.4.0","kernel":"Linux 6.1.0"}"#;

    #[wasm_bindgen_test(unsupported = test)]
    fn a_recording_keeps_frames_verbatim_and_reads_back() {
        let mut r = Recorder::default();
        // Spacing and key order as sent: kept, not re-encoded.
        let frames = [
            HELLO,
            r#"{"v":1,"t_us":2000,"called_us":1500,"type":"tcp_sent","id":1,"len":5}"#,
            r#"{"v":1, "t_us":9000,"type":"tcp_closed","id":1,"by":"client"}"#,
        ];
        for f in frames {
            r.keep(f);
        }
        let file = r.file(1_795_000_001_000, "ws://127.0.0.1:8000/ws");
        let lines: Vec<&str> = file.lines().collect();
        assert_eq!(&lines[1..], frames);
        assert!(lines[0].contains("\"frames\":3") && lines[0].contains("\"complete\":true"));
        let mut replay = Replay::parse(&file).unwrap();
        assert_eq!(
            replay.made_by,
            MadeBy {
                started_unix_us: 1_795_000_000_000_000,
                bridge_version: "0.4.0".into(),
                kernel: "Linux 6.1.0".into(),
            }
        );
        // Paced by the recorded gaps: at once, 2 ms, 7 ms; 3.5 ms at double speed.
        assert_eq!(replay.wait_ms(), Some(0));
        replay.take();
        assert_eq!(replay.wait_ms(), Some(2));
        replay.take();
        assert_eq!(replay.wait_ms(), Some(7));
        replay.speed = 200;
        assert_eq!(replay.wait_ms(), Some(3));
        replay.take();
        assert!(replay.done() && replay.wait_ms().is_none());
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn a_full_recorder_stops_and_says_so_and_long_pauses_are_shortened() {
        let mut r = Recorder::default();
        r.keep(HELLO);
        let big = format!(
            r#"{{"v":1,"t_us":600000000,"type":"tcp_sent","id":1,"len":{}}}"#,
            "1".repeat(10)
        );
        r.keep(&big);
        r.bytes = MAX_RECORDING_BYTES - 1;
        r.keep(&big);
        r.keep(HELLO);
        let file = r.file(0, "");
        assert_eq!(file.lines().count(), 3, "nothing after the limit");
        assert!(
            file.starts_with(&format!("{{\"format\":\"{FORMAT}\""))
                && file.contains("\"complete\":false")
        );
        let mut replay = Replay::parse(&file).unwrap();
        assert!(!replay.complete);
        replay.take();
        assert_eq!(
            replay.wait_ms(),
            Some(MAX_PAUSE_MS),
            "ten minutes become 1.5 s"
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn step_goes_call_by_call_and_bad_files_are_named() {
        let file = format!(
            "{{\"format\":\"{FORMAT}\"}}\n{HELLO}\n{}\n{}\n{}\n",
            r#"{"v":1,"t_us":5,"type":"packet","at_us":4,"data":"AAAA"}"#,
            r#"{"v":1,"t_us":6,"type":"tcp_sent","id":1,"len":5}"#,
            r#"{"v":1,"t_us":7,"type":"tcp_closed","id":1,"by":"client"}"#,
        );
        let mut replay = Replay::parse(&file).unwrap();
        assert_eq!(replay.step().len(), 3, "hello, packet, then the call");
        assert_eq!(replay.step().len(), 1);
        assert!(replay.done());
        assert_eq!(
            Replay::parse("{}\n").unwrap_err(),
            BadRecording::NotARecording
        );
        assert_eq!(
            Replay::parse(&format!("{{\"format\":\"{FORMAT}\"}}\n")).unwrap_err(),
            BadRecording::Empty
        );
        assert!(matches!(
            Replay::parse(&format!("{{\"format\":\"{FORMAT}\"}}\n{HELLO}\nnot json\n")),
            Err(BadRecording::BadLine { line: 3, .. })
        ));
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn a_click_is_kept_with_its_values_and_read_back() {
        use crate::experiments::{Action, Params};
        let params = Params::default()
            .with("messages", "a b \"c\" 中")
            .with("size", "3000");
        let mut r = Recorder::default();
        r.keep(HELLO);
        r.keep_action(Action::StickyRun.key(), 7, &params.encode());
        let file = r.file(0, "");
        assert!(file.lines().nth(2).unwrap().starts_with(r#"{"action":"sticky_run","next_id":7,"params":"messages=a%20b%20%22c%22%20%E4%B8%AD&size=3000"}"#));
        let mut replay = Replay::parse(&file).unwrap();
        replay.take();
        let Some(Item::Action {
            action,
            next_id,
            params: back,
        }) = replay.take()
        else {
            panic!("an action");
        };
        assert_eq!((action, next_id), (Action::StickyRun, 7));
        let back = Params::decode(&back);
        assert_eq!(
            (back.text("messages"), back.text("size")),
            ("a b \"c\" 中", "3000")
        );
    }
}
