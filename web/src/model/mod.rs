//! The console's state, as plain Rust: no DOM, no WebSocket, tested natively.
//!
//! Two ways in, one way out:
//! - *Intents* (the learner clicked something) change the state and return the [`Command`]s to
//!   send to the bridge. The model never pretends a command worked: a message shows up as sent
//!   only when the bridge reports that `send()` returned.
//! - *Events* (the bridge reported something) go through [`Model::apply`], the only place that
//!   turns facts into what the learner sees.
//! - The view reads the state ([`Model::log`], [`Model::tcp`], …) and draws it.

pub(crate) mod facts;
pub(crate) mod log;
pub(crate) mod recording;
pub(crate) mod timeline;

use crate::experiments::{self, Action, Params, Runs, Tab};
use crate::vec_map::VecMap;
use crate::wire::{KernelState, WireState};
use log::{BrowserCall, Entry, Log, Proto, Side, What};
use protocol::{Command, Event, EventBody, Family, Limits, ServerSide, SocketId, Target};
use std::collections::VecDeque;
use std::net::SocketAddr;
use timeline::{Row, StateChange, Timeline};

/// The link to the bridge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BridgeState {
    Connecting,
    Open,
    /// Not reachable; the next attempt is in `in_ms`.
    Retrying {
        in_ms: u32,
    },
    /// The bridge closed the session after `seconds` without a command; the console reconnects
    /// when the learner next does something, not before (an idle tab costs the bridge nothing).
    Idle {
        seconds: u32,
    },
    /// Playing a recording: nothing is live, and nothing is sent.
    Replaying,
    /// Lazy: not connected yet; the reader's first use connects.
    Lazy,
}

/// Why the bridge's WebSocket did not open, as the bridge answered a plain `GET` of it
/// (a browser hides a refused handshake's answer; see [`Refusal::from_status`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// 429: this address already has as many sessions as the bridge allows.
    PerAddress,
    /// 503: the bridge serves as many sessions as it allows.
    Full,
    /// 403: this page's origin (or the name it used) is not allowed.
    Origin,
    /// 426: the bridge answers HTTP and would accept a session, yet the WebSocket failed: e.g.
    /// a proxy in between that does not pass WebSockets.
    NoUpgrade,
}

impl Refusal {
    pub(crate) fn from_status(status: u16) -> Option<Refusal> {
        match status {
            429 => Some(Refusal::PerAddress),
            503 => Some(Refusal::Full),
            403 => Some(Refusal::Origin),
            426 => Some(Refusal::NoUpgrade),
            _ => None,
        }
    }
}

/// Experiments' sockets remembered as closed: more than a session can have open (16) times the
/// experiments that keep sockets, so an id still held by a run is always among them.
const MAX_RELEASED: usize = 256;

/// Experiments' sockets whose protocol is remembered (for the TCP/UDP tag of their errors): as
/// many as [`MAX_RELEASED`], for the same reason; the oldest are forgotten first.
const MAX_EXPERIMENT_SOCKETS: usize = 256;

/// The WebSocket close code the bridge uses for a session it closed for being idle.
pub(crate) const CLOSE_IDLE: u16 = 4000;

/// The console's current TCP connection (the learner has at most one at a time; one that is
/// closing finishes in the background and its events still appear in the log).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TcpConn {
    Idle,
    Connecting {
        id: SocketId,
    },
    Open {
        id: SocketId,
        local: SocketAddr,
        peer: SocketAddr,
    },
}

pub(crate) struct Model {
    url: String,
    bridge: BridgeState,
    /// Why the last attempt to reach the bridge failed, when the bridge said why.
    refusal: Option<Refusal>,
    servers: Option<(SocketAddr, SocketAddr)>,
    /// The same servers over IPv6, when the bridge has them.
    servers6: (Option<SocketAddr>, Option<SocketAddr>),
    /// Whether the bridge can impair a lab server's link (from its hello).
    impair: Option<protocol::ImpairState>,
    limits: Option<Limits>,
    /// The family "Send via TCP/UDP" uses.
    family: Family,
    tcp: TcpConn,
    /// The family of the current TCP connection.
    tcp_family: Family,
    /// The console's UDP socket of each family.
    udp: VecMap<Family, SocketId>,
    /// The UDP socket's own address, as reported with its first datagram.
    udp_local: VecMap<SocketId, SocketAddr>,
    next_id: SocketId,
    /// Payloads handed to the bridge, per socket, waiting for its "sent" report.
    unconfirmed: VecMap<SocketId, VecDeque<Vec<u8>>>,
    /// Addresses of each TCP connection, for the log lines of its data.
    tcp_addrs: VecMap<SocketId, (SocketAddr, SocketAddr)>,
    /// When each socket last sent, to measure the round trip to the first reply after it.
    last_sent: VecMap<SocketId, u64>,
    log: Log,
    timeline: Timeline,
    /// When the console's clock started (the first session's start, µs since the Unix epoch),
    /// and where the current session's clock starts on it: times of every session on one clock.
    epoch_us: Option<u64>,
    base_us: u64,
    facts: facts::Facts,
    wire: WireState,
    selection: Selection,
    /// The teardown demo's connection, to close when its echo arrives.
    close_after_echo: Option<SocketId>,
    show_others: bool,
    tab: Tab,
    /// What each experiment's last run opened.
    pub(crate) runs: Runs,
    /// Commands the model decided to send on its own (e.g. the next upload chunks).
    outgoing: Vec<Command>,
    /// Sockets the experiments closed (newest last, at most [`MAX_RELEASED`]): closing one
    /// twice would be an error from the bridge.
    released: VecDeque<SocketId>,
    /// The protocol of each socket an experiment opened (at most [`MAX_EXPERIMENT_SOCKETS`]).
    experiment_protos: VecMap<SocketId, Proto>,
    /// Every frame of the live sessions, for "Save recording".
    recorder: recording::Recorder,
    /// The recording being played, in replay.
    replay: Option<recording::Replay>,
    /// The recording as loaded, where it came from and whether the bridge was unreachable: for
    /// "Play again" once it ended.
    replay_start: Option<(String, String, bool)>,
}

impl Model {
    pub(crate) fn new(url: impl Into<String>) -> Model {
        Model {
            url: url.into(),
            bridge: BridgeState::Connecting,
            refusal: None,
            servers: None,
            servers6: (None, None),
            impair: None,
            limits: None,
            family: Family::Ipv4,
            tcp: TcpConn::Idle,
            tcp_family: Family::Ipv4,
            udp: VecMap::new(),
            udp_local: VecMap::new(),
            next_id: 1,
            unconfirmed: VecMap::new(),
            tcp_addrs: VecMap::new(),
            last_sent: VecMap::new(),
            log: Log::default(),
            timeline: Timeline::default(),
            epoch_us: None,
            base_us: 0,
            facts: facts::Facts::default(),
            wire: WireState::new(),
            selection: Selection::None,
            close_after_echo: None,
            show_others: false,
            tab: Tab::Echo,
            recorder: Default::default(),
            released: VecDeque::new(),
            experiment_protos: VecMap::new(),
            replay: None,
            replay_start: None,
            runs: Runs::default(),
            outgoing: vec![],
        }
    }

    // ---- what the view reads ----

    pub(crate) fn url(&self) -> &str {
        &self.url
    }
    pub(crate) fn bridge(&self) -> &BridgeState {
        &self.bridge
    }

    /// Why the bridge refused the last attempt, while the console is retrying.
    pub(crate) fn refusal(&self) -> Option<Refusal> {
        self.refusal
            .filter(|_| matches!(self.bridge, BridgeState::Retrying { .. }))
    }

    /// What the bridge answered when asked why its WebSocket did not open (`None`: nothing
    /// answered, so it is not reachable).
    pub(crate) fn bridge_refused(&mut self, why: Option<Refusal>) {
        self.refusal = why;
    }
    pub(crate) fn servers(&self) -> Option<(SocketAddr, SocketAddr)> {
        self.servers
    }
    /// Whether the bridge can impair a link, as its hello said (`None` before the hello).
    pub(crate) fn impair(&self) -> Option<&protocol::ImpairState> {
        self.impair.as_ref()
    }

    pub(crate) fn servers6(&self) -> (Option<SocketAddr>, Option<SocketAddr>) {
        self.servers6
    }
    pub(crate) fn family(&self) -> Family {
        self.family
    }
    pub(crate) fn timeline(&self) -> &Timeline {
        &self.timeline
    }
    /// When the console's clock started, in µs since the Unix epoch (0 before the first hello).
    pub(crate) fn epoch_us(&self) -> u64 {
        self.epoch_us.unwrap_or(0)
    }
    pub(crate) fn tcp(&self) -> TcpConn {
        self.tcp
    }
    pub(crate) fn log(&self) -> &Log {
        &self.log
    }
    pub(crate) fn log_dropped(&self) -> u64 {
        self.log.dropped()
    }
    pub(crate) fn facts(&self) -> &facts::Facts {
        &self.facts
    }
    pub(crate) fn shows_others(&self) -> bool {
        self.show_others
    }
    pub(crate) fn tab(&self) -> Tab {
        self.tab
    }
    pub(crate) fn wire(&self) -> &WireState {
        &self.wire
    }

    // ---- the wire view ----

    pub(crate) fn set_relative(&mut self, relative: bool) {
        self.wire.relative = relative;
    }

    /// IPv4 or IPv6 for the next sends.
    pub(crate) fn set_family(&mut self, family: Family) {
        self.family = family;
    }

    /// A click on a packet (or on it again: unselect).
    pub(crate) fn select_packet(&mut self, number: u64) {
        self.selection = match self.selection {
            Selection::Packet(n) if n == number => Selection::None,
            _ => Selection::Packet(number),
        };
    }

    /// A click on a log entry (or on it again: unselect).
    pub(crate) fn select_entry(&mut self, seq: u64) {
        self.selection = match self.selection {
            Selection::Entry(s) if s == seq => Selection::None,
            _ => Selection::Entry(seq),
        };
    }

    /// The packet whose layers are shown.
    pub(crate) fn selected_packet(&self) -> Option<u64> {
        match self.selection {
            Selection::Packet(n) => Some(n),
            _ => None,
        }
    }

    /// What to highlight: (packet numbers, log sequence numbers). A data segment and the log's
    /// messages with the same bytes on the same socket belong together.
    pub(crate) fn highlighted(&self) -> (Vec<u64>, Vec<u64>) {
        match self.selection {
            Selection::None => (vec![], vec![]),
            Selection::Packet(n) => {
                let Some(p) = self.wire.packet(n) else {
                    return (vec![], vec![]);
                };
                let payload = p
                    .segment
                    .as_ref()
                    .map(|s| s.payload.as_slice())
                    .unwrap_or(&[]);
                let entries = self
                    .log
                    .since(0)
                    .filter(|(_, e)| {
                        !payload.is_empty() && e.socket.is_some() && e.socket == p.socket
                    })
                    .filter(|(_, e)| entry_bytes(e) == Some(payload))
                    .map(|(seq, _)| seq)
                    .collect();
                (vec![n], entries)
            }
            Selection::Entry(seq) => {
                let entry = self.log.since(seq).next().filter(|(s, _)| *s == seq);
                let packets = entry
                    .and_then(|(_, e)| Some(self.wire.carrying(e.socket?, entry_bytes(e)?)))
                    .unwrap_or_default();
                (packets, vec![seq])
            }
        }
    }

    /// "Show the four-way teardown": a connection to a server that waits before `close()`.
    pub(crate) fn teardown_demo(&mut self) -> Vec<Command> {
        if self.bridge != BridgeState::Open {
            self.note(None, self.no_bridge());
            return vec![];
        }
        let server = experiments::TEARDOWN;
        let spec = protocol::LabSpec {
            close_delay_ms: 200,
            ..protocol::LabSpec::tutorial(protocol::Transport::Tcp)
        };
        let id = self.new_id();
        // Close only once the echo is back, so that no data segment carries the ACK of a FIN.
        self.close_after_echo = Some(id);
        vec![
            Command::LabStart { server, spec },
            Command::TcpConnect {
                id,
                to: Target::Lab(server),
            },
            Command::TcpSend {
                id,
                data: "bye".into(),
            },
        ]
    }

    /// A fresh socket id.
    /// Closes an experiment's socket `id` (TCP or UDP), unless it is closed already (by the
    /// console before, or by its peer, or it failed): the command, or none.
    pub(crate) fn release(&mut self, id: SocketId, tcp: bool) -> Option<Command> {
        let gone = self.released.contains(&id)
            || self
                .facts
                .socket(id)
                .is_some_and(|f| f.closed.is_some() || f.error.is_some());
        if gone {
            return None;
        }
        if self.released.len() == MAX_RELEASED {
            self.released.pop_front();
        }
        self.released.push_back(id);
        Some(if tcp {
            Command::TcpClose { id }
        } else {
            Command::UdpClose { id }
        })
    }

    pub(crate) fn new_id(&mut self) -> SocketId {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Commands the model wants sent that no click asked for (taken once).
    pub(crate) fn take_outgoing(&mut self) -> Vec<Command> {
        let outgoing = std::mem::take(&mut self.outgoing);
        // A recording asks nothing of any bridge.
        if self.replay.is_some() {
            vec![]
        } else {
            outgoing
        }
    }

    /// What a click that needs the bridge says when there is none.
    fn no_bridge(&self) -> What {
        if self.replay.is_some() {
            What::NotLive
        } else {
            What::NoBridge
        }
    }

    // ---- recording and replay ----

    /// Keeps a frame from the bridge, as received, for "Save recording".
    pub(crate) fn record(&mut self, frame: &str) {
        self.recorder.keep(frame);
    }

    /// Is there a live session to save ("Save recording" is for live sessions, not replays)?
    pub(crate) fn can_save_recording(&self) -> bool {
        self.replay.is_none() && !self.recorder.is_empty()
    }

    /// The recording file of the live sessions so far, if there was any.
    pub(crate) fn recording_file(&self, saved_unix_ms: u64) -> Option<String> {
        (!self.recorder.is_empty()).then(|| self.recorder.file(saved_unix_ms, &self.url))
    }

    /// Plays the recording `text` (from `from`) in place of a live session, or says why it
    /// cannot be read. `unreachable`: the bridge could not be reached (said in the log, with
    /// the recording's URL), or false when the learner asked.
    pub(crate) fn start_replay(
        &mut self,
        text: String,
        from: &str,
        unreachable: bool,
    ) -> Result<(), String> {
        let replay = recording::Replay::parse(&text).map_err(|e| e.to_string())?;
        // Kept as text (not a second parsed copy) for "Play again".
        self.replay_start = Some((text, from.to_string(), unreachable));
        self.forget_sockets();
        self.bridge = BridgeState::Replaying;
        // The recording's sessions on a clock of their own.
        self.epoch_us = None;
        let from = from.to_string();
        let url = self.url.clone();
        self.note(
            None,
            What::Replay {
                from,
                unreachable: unreachable.then_some(url),
            },
        );
        self.replay = Some(replay);
        Ok(())
    }

    pub(crate) fn replay(&self) -> Option<&recording::Replay> {
        self.replay.as_ref()
    }

    /// A recording could not be played: `why`, for the log.
    pub(crate) fn replay_failed(&mut self, from: &str, why: String) {
        let from = from.to_string();
        self.note(None, What::ReplayFailed { from, why });
    }

    /// Plays the next event of the recording; returns how long to wait before the one after,
    /// in ms (none when the recording is over or paused).
    pub(crate) fn replay_next(&mut self) -> Option<u64> {
        let item = self.replay.as_mut().filter(|r| r.playing)?.take()?;
        self.play(item);
        self.outgoing.clear();
        let (done, wait) = self.replay.as_ref().map(|r| (r.done(), r.wait_ms()))?;
        if done {
            self.note(None, What::ReplayEnded);
        }
        wait
    }

    fn play(&mut self, item: recording::Item) {
        match item {
            recording::Item::Event(event) => self.apply(*event),
            // What the console sent, so that the log shows the bytes as it did live: the typed
            // messages' bytes; an experiment's sends showed their count only.
            recording::Item::Sent(id, data) => {
                if !self.experiment_protos.contains_key(&id) {
                    self.unconfirmed.get_or_default(id).push_back(data);
                }
            }
            // The learner's click, run again through the same experiment code (its commands go
            // nowhere): the experiment's results read the recorded events as they did live.
            recording::Item::Action {
                action,
                next_id,
                params,
            } => {
                self.next_id = next_id;
                self.tab = Tab::of(action);
                let params = experiments::Params::decode(&params);
                let commands = experiments::run(self, action, &params);
                self.remember_protos(&commands);
                self.outgoing.clear();
            }
        }
    }

    /// "Download .pcapng": the captured packets, each socket call of both ends as a comment on
    /// the packet it belongs to (see [`crate::wire::pcapng::packet_of`]), in the words of the
    /// console's log (`c`'s language).
    pub(crate) fn pcapng(&self, c: &crate::i18n::Catalog) -> Vec<u8> {
        let (packets, comments) = self.pcapng_comments(c);
        crate::wire::pcapng::write(self.epoch_us(), &packets, &comments)
    }

    /// The packets the .pcapng holds, and each call's comment with the index of its packet.
    fn pcapng_comments(
        &self,
        c: &crate::i18n::Catalog,
    ) -> (Vec<&crate::wire::flow::Captured>, Vec<(usize, String)>) {
        use crate::wire::pcapng::{self, Meets};
        let packets: Vec<&crate::wire::flow::Captured> =
            self.wire.packets().filter(|p| !p.lost).collect();
        // The packets' times and whether each carries data, for all of them and per socket:
        // built once, so that each call is a binary search (a long session has thousands).
        struct Times {
            index: Vec<usize>,
            at: Vec<u64>,
            data: Vec<bool>,
        }
        let times = |index: Vec<usize>| Times {
            at: index.iter().map(|&i| packets[i].at_us).collect(),
            data: index
                .iter()
                .map(|&i| {
                    packets[i]
                        .segment
                        .as_ref()
                        .is_some_and(|s| !s.payload.is_empty())
                })
                .collect(),
            index,
        };
        let mut by_socket: VecMap<SocketId, Vec<usize>> = VecMap::new();
        for (i, p) in packets.iter().enumerate() {
            if let Some(id) = p.socket {
                by_socket.get_or_default(id).push(i);
            }
        }
        let mut own = VecMap::new();
        while let Some((id, index)) = by_socket.pop_first() {
            own.insert(id, times(index));
        }
        let all = times((0..packets.len()).collect());
        let mut comments = vec![];
        for (_, entry) in self.log.since(self.log.first_seq()) {
            let Some(returned) = entry.t_us else {
                continue;
            };
            let meets = match &entry.what {
                What::Connected { .. }
                | What::Sent { .. }
                | What::ServerSend { .. }
                | What::ServerSendTo { .. }
                | What::ServerClose { .. }
                | What::Closing
                | What::Closed { .. } => Meets::Sends,
                // A call that failed because of a packet (a connect() answered with RST, a
                // connected socket told by ICMP) and a datagram nobody answered: the last packet
                // of that socket before.
                What::ServerAccept { .. } | What::Error { .. } | What::NoReply { .. } => {
                    Meets::Waits
                }
                What::Echo { .. }
                | What::ServerRecv { .. }
                | What::ServerRecvFrom { .. }
                | What::ServerMessage { .. } => Meets::WaitsForData,
                _ => continue,
            };
            // Only the packets of the call's own socket, when it has some: by time alone, a
            // call could land on another connection's packet sent in the same millisecond.
            let candidates = match entry.socket.and_then(|id| own.get(&id)) {
                Some(own) => own,
                // An error with no packet of its own (the bridge refused, a send failed in the
                // kernel) is not about any packet.
                None if matches!(entry.what, What::Error { .. } | What::NoReply { .. }) => {
                    continue;
                }
                None => &all,
            };
            let entered = entry.called_us.unwrap_or(returned);
            let Some(n) =
                pcapng::packet_of(&candidates.at, &candidates.data, entered, returned, meets)
            else {
                continue;
            };
            let n = candidates.index[n];
            let line = crate::present::line(c, entry);
            let mut text = format!("{} {} {}", line.side, line.proto, line.text);
            if let Some(payload) = line.payload {
                text = format!("{text} {payload}");
            }
            comments.push((n, text));
        }
        (packets, comments)
    }

    /// Keeps a frame the console sent, for "Save recording".
    pub(crate) fn record_sent(&mut self, frame: &str) {
        self.recorder.keep_sent(frame);
    }

    /// Pauses the recording and plays up to and including its next socket call.
    pub(crate) fn replay_step(&mut self) {
        let Some(replay) = self.replay.as_mut() else {
            return;
        };
        replay.playing = false;
        let was_done = replay.done();
        for item in replay.step() {
            self.play(item);
        }
        self.outgoing.clear();
        if !was_done && self.replay.as_ref().is_some_and(|r| r.done()) {
            self.note(None, What::ReplayEnded);
        }
    }

    /// Play or pause, or (once the recording ended) play it again from the start, on a cleared
    /// log and timeline; returns whether it is now playing.
    pub(crate) fn replay_toggle(&mut self) -> bool {
        match self.replay.as_mut() {
            Some(r) if !r.done() => {
                r.playing = !r.playing;
                r.playing
            }
            Some(r) => {
                let speed = r.speed;
                let Some((text, from, unreachable)) = self.replay_start.take() else {
                    return false;
                };
                self.log.clear();
                self.timeline = Timeline::default();
                self.wire = WireState::new();
                self.selection = Selection::None;
                self.experiment_protos.clear();
                // It was read once already: it reads again.
                let again = self.start_replay(text, &from, unreachable).is_ok();
                if let Some(r) = self.replay.as_mut() {
                    r.speed = speed;
                }
                again
            }
            None => false,
        }
    }

    /// The replay's speed, in percent of the recorded pace.
    pub(crate) fn set_replay_speed(&mut self, percent: u32) {
        if let Some(r) = self.replay.as_mut() {
            r.speed = percent.clamp(10, 10_000);
        }
    }

    // ---- experiments ----

    pub(crate) fn select_tab(&mut self, tab: Tab) {
        self.tab = tab;
    }

    /// A button of an experiment, with the values of its controls.
    pub(crate) fn experiment(&mut self, action: Action, params: &Params) -> Vec<Command> {
        if self.bridge != BridgeState::Open {
            self.note(None, self.no_bridge());
            return vec![];
        }
        let (key, next_id, encoded) = (action.key(), self.next_id, params.encode());
        self.recorder.keep_action(key, next_id, &encoded);
        let commands = experiments::run(self, action, params);
        self.remember_protos(&commands);
        commands
    }

    /// Remembers which protocol each socket the commands open speaks, so that the log can tag
    /// its lines (an experiment's failed connect() too) with TCP or UDP.
    fn remember_protos(&mut self, commands: &[Command]) {
        for command in commands {
            let (id, proto) = match command {
                Command::TcpConnect { id, .. } => (*id, Proto::Tcp),
                Command::UdpSend { id, .. } => (*id, Proto::Udp),
                Command::FileStart { id, transport, .. } => (*id, Proto::from(*transport)),
                _ => continue,
            };
            if self.experiment_protos.len() == MAX_EXPERIMENT_SOCKETS {
                self.experiment_protos.pop_first();
            }
            self.experiment_protos.insert(id, proto);
        }
    }

    /// An experiment's number out of its range: nothing was sent, and the log says the range.
    pub(crate) fn refuse(&mut self, refused: experiments::OutOfRange) {
        self.note(None, What::OutOfRange(refused));
    }

    /// "Send file via TCP/UDP" with a file the learner picked (its bytes, read by the view).
    pub(crate) fn upload_file(
        &mut self,
        action: Action,
        name: String,
        data: Vec<u8>,
    ) -> Vec<Command> {
        if self.bridge != BridgeState::Open {
            self.note(None, self.no_bridge());
            return vec![];
        }
        experiments::file::upload(self, action, name, data)
    }
    pub(crate) fn can_connect(&self) -> bool {
        self.bridge == BridgeState::Open && self.tcp == TcpConn::Idle
    }
    pub(crate) fn can_close(&self) -> bool {
        matches!(self.tcp, TcpConn::Open { .. })
    }

    // ---- intents ----

    /// "Send via TCP" / "Send via UDP".
    pub(crate) fn send(&mut self, proto: Proto, data: Vec<u8>) -> Vec<Command> {
        if self.bridge != BridgeState::Open {
            self.note(Some(proto), self.no_bridge());
            return vec![];
        }
        if let Some(limits) = self.limits
            && data.len() > limits.max_message
        {
            let what = What::TooLarge {
                len: data.len(),
                max: limits.max_message,
            };
            self.note(Some(proto), what);
            return vec![];
        }
        let mut commands = vec![];
        // A connection over the other family is closed first: "Send via TCP" over IPv6 opens
        // a connection over IPv6.
        if proto == Proto::Tcp && self.tcp != TcpConn::Idle && self.tcp_family != self.family {
            commands.extend(self.close_tcp());
            self.tcp = TcpConn::Idle;
        }
        let id = match proto {
            Proto::Tcp => match self.tcp {
                TcpConn::Open { id, .. } => id,
                // "Send via TCP" connects first when needed, like the tutorial's client.
                TcpConn::Idle => {
                    commands.extend(self.connect_tcp());
                    match self.tcp {
                        TcpConn::Connecting { id } => id,
                        _ => return commands,
                    }
                }
                // The handshake is under way: the bridge queues the send behind the connect.
                TcpConn::Connecting { id } => id,
            },
            Proto::Udp => match self.udp.get(&self.family) {
                Some(&id) => id,
                None => {
                    let id = self.new_id();
                    self.udp.insert(self.family, id);
                    id
                }
            },
        };
        let to = self.echo_target();
        self.unconfirmed.get_or_default(id).push_back(data.clone());
        commands.push(match proto {
            Proto::Tcp => Command::TcpSend {
                id,
                data: data.into(),
            },
            Proto::Udp => Command::UdpSend {
                id,
                data: data.into(),
                to,
                connected: false,
            },
        });
        commands
    }

    /// The echo server of the family in use.
    fn echo_target(&self) -> Target {
        match self.family {
            Family::Ipv4 => Target::Echo,
            Family::Ipv6 => Target::Echo6,
        }
    }

    /// "Connect": open a TCP connection (the three-way handshake happens in the kernel).
    pub(crate) fn connect_tcp(&mut self) -> Vec<Command> {
        if !self.can_connect() {
            if self.bridge != BridgeState::Open {
                self.note(Some(Proto::Tcp), self.no_bridge());
            }
            return vec![];
        }
        let id = self.next_id;
        self.next_id += 1;
        self.tcp = TcpConn::Connecting { id };
        self.tcp_family = self.family;
        vec![Command::TcpConnect {
            id,
            to: self.echo_target(),
        }]
    }

    /// "Close": our side closes first (the active close).
    pub(crate) fn close_tcp(&mut self) -> Vec<Command> {
        match self.tcp {
            TcpConn::Open { id, .. } => {
                self.tcp = TcpConn::Idle;
                vec![Command::TcpClose { id }]
            }
            _ => vec![],
        }
    }

    pub(crate) fn clear_log(&mut self) {
        self.log.clear();
    }

    // ---- the link ----

    pub(crate) fn bridge_connecting(&mut self) {
        self.bridge = BridgeState::Connecting;
    }

    pub(crate) fn bridge_lazy(&mut self) {
        self.bridge = BridgeState::Lazy;
    }

    pub(crate) fn bridge_opened(&mut self) {
        self.bridge = BridgeState::Open;
        self.refusal = None;
        let url = self.url.clone();
        self.note(None, What::BridgeUp { url });
    }

    /// The bridge closed the WebSocket with `code` and `reason`. Returns whether to reconnect
    /// now (with backoff); an idle session waits for the learner's next action instead.
    pub(crate) fn bridge_closed(&mut self, code: u16, reason: &str) -> bool {
        match code {
            CLOSE_IDLE => {
                // "idle for 900 s: …": the number of seconds comes first.
                let seconds: u32 = reason
                    .split(|c: char| !c.is_ascii_digit())
                    .find(|d| !d.is_empty())
                    .and_then(|d| d.parse().ok())
                    .unwrap_or(0);
                self.note(None, What::SessionIdle { seconds });
                self.forget_sockets();
                self.bridge = BridgeState::Idle { seconds };
                false
            }
            // Normal endings and "no close frame at all" (the bridge went away) need no words of
            // their own: "lost the bridge" says it.
            1000 | 1001 | 1005 | 1006 => true,
            code => {
                self.note(None, What::BridgeClosed { code });
                true
            }
        }
    }

    /// The WebSocket closed or never opened. The bridge closes a session's sockets with it, so
    /// every socket the console knew of is gone.
    pub(crate) fn bridge_lost(&mut self, retry_in_ms: u32) {
        if self.bridge == BridgeState::Open {
            let url = self.url.clone();
            self.note(None, What::BridgeDown { url });
        }
        self.bridge = BridgeState::Retrying { in_ms: retry_in_ms };
        self.forget_sockets();
    }

    fn forget_sockets(&mut self) {
        self.tcp = TcpConn::Idle;
        self.udp.clear();
        self.udp_local.clear();
        self.unconfirmed.clear();
        self.tcp_addrs.clear();
        self.last_sent.clear();
        self.facts.clear();
        self.wire.clear_states();
        self.runs = Runs::default();
        self.outgoing.clear();
    }

    /// A frame from the bridge that is not a valid event.
    pub(crate) fn bad_frame(&mut self, reason: String) {
        self.note(None, What::BadFrame { reason });
    }

    /// A browser call failed (reading a file, sending, opening the WebSocket).
    pub(crate) fn browser_failed(&mut self, failed: BrowserCall, error: String) {
        self.note(None, What::Browser { failed, error });
    }

    // ---- facts ----

    /// Puts packets the wire view took in on the timeline, at their own times.
    fn place_packets(&mut self, numbers: Vec<u64>) {
        for number in numbers {
            if let (Some(p), Some(_)) = (self.wire.packet(number), self.wire.arrow(number)) {
                self.timeline.insert(p.at_us, Row::Packet(number));
            }
        }
    }

    /// Applies one event from the bridge.
    pub(crate) fn apply(&mut self, event: Event) {
        // One clock for every session: the hello moves the current session's origin onto it.
        if let EventBody::Hello {
            started_unix_us, ..
        } = &event.body
        {
            let epoch = *self.epoch_us.get_or_insert(*started_unix_us);
            self.base_us = started_unix_us.saturating_sub(epoch);
            self.timeline.insert(self.base_us, Row::Session);
        }
        let at = |us: u64| self.base_us + us;
        let (t_us, called_us) = (at(event.t_us), event.called_us.map(at));
        // A call entered before this session began (a shared server already waiting in
        // recvfrom()) is stamped at the session's start: its real wait is longer.
        let began_before = event.called_us == Some(0) && event.t_us > 0;
        self.facts.observe(t_us, &event.body);
        let released = self.wire.release(t_us);
        self.place_packets(released);
        let socket = socket_of(&event.body);
        if let EventBody::TcpReceived { id, .. } = &event.body
            && self.close_after_echo == Some(*id)
        {
            self.close_after_echo = None;
            self.outgoing.push(Command::TcpClose { id: *id });
        }
        match &event.body {
            EventBody::Packet {
                id,
                at_us,
                data,
                lost,
            } => {
                let at_us = self.base_us + at_us;
                let numbers = self.wire.push(at_us, *id, data.0.clone(), *lost);
                self.place_packets(numbers);
                return;
            }
            EventBody::TcpState {
                id,
                state,
                info,
                timer_ms,
            } => {
                // A state the timeline shows when it changes (not when a counter moves).
                let changed = self.wire.state(*id).is_none_or(|k| k.state != *state);
                if changed {
                    let change = StateChange {
                        socket: *id,
                        state: state.clone(),
                        timer_ms: *timer_ms,
                    };
                    self.timeline.state_changed(t_us, change);
                }
                let state = KernelState {
                    state: state.clone(),
                    info: *info,
                    timer_ms: *timer_ms,
                };
                self.wire.set_state(*id, state);
                return;
            }
            _ => {}
        }
        if matches!(event.body, EventBody::FileProgress { .. }) {
            let more = experiments::file::pump(self);
            self.outgoing.extend(more);
        }
        let t = Some(t_us);
        let tcp = Some(Proto::Tcp);
        let udp = Some(Proto::Udp);
        let (proto, side, what) = match event.body {
            EventBody::Hello {
                tcp_server,
                udp_server,
                tcp_server6,
                udp_server6,
                limits,
                show_other_clients,
                capture,
                impair,
                started_unix_us,
                bridge_version,
                kernel,
            } => {
                let _ = (started_unix_us, bridge_version, kernel);
                self.show_others = show_other_clients;
                self.wire.capture = Some(capture);
                self.impair = Some(impair);
                self.servers = Some((tcp_server, udp_server));
                self.servers6 = (tcp_server6, udp_server6);
                self.limits = Some(limits);
                return;
            }
            EventBody::TcpConnected {
                id,
                local,
                peer,
                connect_us,
            } => {
                self.tcp_addrs.insert(id, (local, peer));
                if self.tcp == (TcpConn::Connecting { id }) {
                    self.tcp = TcpConn::Open { id, local, peer };
                }
                (
                    tcp,
                    Side::Client,
                    What::Connected {
                        local,
                        peer,
                        connect_us,
                    },
                )
            }
            EventBody::TcpSent { id, len } => {
                // The round trip the calls saw starts when send() was entered.
                self.last_sent.insert(id, called_us.unwrap_or(t_us));
                let data = self.confirm(id, len);
                let Some(&(from, to)) = self.tcp_addrs.get(&id) else {
                    return;
                };
                (
                    tcp,
                    Side::Client,
                    What::Sent {
                        len,
                        data,
                        from,
                        to,
                        connected: false,
                    },
                )
            }
            EventBody::TcpReceived { id, data } => {
                let rtt_us = self.last_sent.remove(&id).map(|s| t_us.saturating_sub(s));
                let Some(&(local, peer)) = self.tcp_addrs.get(&id) else {
                    return;
                };
                (
                    tcp,
                    Side::Client,
                    What::Echo {
                        data: data.0,
                        from: peer,
                        to: local,
                        rtt_us,
                    },
                )
            }
            EventBody::TcpClosing { .. } => (tcp, Side::Client, What::Closing),
            EventBody::TcpClosed { id, by } => {
                self.forget_tcp(id);
                (tcp, Side::Client, What::Closed { by })
            }
            EventBody::UdpSent {
                id,
                local,
                peer,
                len,
                connected,
            } => {
                self.last_sent.insert(id, called_us.unwrap_or(t_us));
                self.udp_local.insert(id, local);
                let data = self.confirm(id, len);
                (
                    udp,
                    Side::Client,
                    What::Sent {
                        len,
                        data,
                        from: local,
                        to: peer,
                        connected,
                    },
                )
            }
            EventBody::UdpReceived { id, from, data } => {
                let rtt_us = self.last_sent.remove(&id).map(|s| t_us.saturating_sub(s));
                // The reply comes to our socket, at the address we sent from.
                let to = self.udp_local.get(&id).copied().unwrap_or(from);
                (
                    udp,
                    Side::Client,
                    What::Echo {
                        data: data.0,
                        from,
                        to,
                        rtt_us,
                    },
                )
            }
            EventBody::UdpClosed { id } => {
                let family = self.udp.iter().find(|(_, u)| **u == id).map(|(f, _)| *f);
                if let Some(family) = family {
                    self.udp.remove(&family);
                    self.udp_local.remove(&id);
                }
                (udp, Side::Client, What::UdpClosed)
            }
            EventBody::Server { op, .. } => match op {
                ServerSide::Accept { peer } => (tcp, Side::Server, What::ServerAccept { peer }),
                ServerSide::Recv { data } => (tcp, Side::Server, What::ServerRecv { data: data.0 }),
                ServerSide::Send { len } => (tcp, Side::Server, What::ServerSend { len }),
                ServerSide::Close {
                    error,
                    idle_s,
                    active,
                    waited_ms,
                } => {
                    let error = error.map(|e| format!("{} ({})", e.message, e.name));
                    let what = What::ServerClose {
                        error,
                        idle_s,
                        active,
                        waited_ms,
                    };
                    (tcp, Side::Server, what)
                }
                ServerSide::RecvFrom { peer, data, size } => (
                    udp,
                    Side::Server,
                    What::ServerRecvFrom {
                        peer,
                        data: data.0,
                        size,
                    },
                ),
                ServerSide::Message { data } => {
                    (tcp, Side::Server, What::ServerMessage { data: data.0 })
                }
                ServerSide::SendTo { peer, len } => {
                    (udp, Side::Server, What::ServerSendTo { peer, len })
                }
            },
            EventBody::UdpNoReply { waited_ms, .. } => {
                (udp, Side::Client, What::NoReply { waited_ms })
            }
            EventBody::UdpDropped {
                dropped, rcvbuf, ..
            } => (udp, Side::Server, What::UdpDropped { dropped, rcvbuf }),
            // The experiments' events are read by their panels (see `experiments`).
            EventBody::OtherClient { .. }
            | EventBody::LabStarted { .. }
            | EventBody::LabStopped { .. }
            | EventBody::ListenQueue { .. }
            | EventBody::KernelSockets { .. }
            | EventBody::LinkStats { .. }
            | EventBody::FileProgress { .. }
            | EventBody::FileDone { .. }
            | EventBody::Packet { .. }
            | EventBody::TcpState { .. } => return,
            EventBody::Error {
                id,
                server,
                code,
                message,
                os,
            } => {
                let proto = id.and_then(|id| self.proto_of(id));
                // A socket call that failed is that socket's own call (the client's, or a lab
                // server's): the bridge only reports it.
                let side = match (code, id, server) {
                    (protocol::ErrorCode::Os, Some(_), _) => Side::Client,
                    (protocol::ErrorCode::Os, None, Some(_)) => Side::Server,
                    _ => Side::Bridge,
                };
                if let Some(id) = id {
                    self.unconfirmed.remove(&id);
                    if proto == Some(Proto::Tcp) && !self.tcp_addrs.contains_key(&id) {
                        // connect() failed: there is no connection.
                        self.forget_tcp(id);
                    }
                }
                let errno = os.map(|o| o.name);
                let failure = facts::Failure {
                    code,
                    message,
                    errno,
                };
                (proto, side, What::Error { failure })
            }
        };
        let seq = self.log.push(Entry {
            t_us: t,
            called_us,
            began_before,
            proto,
            side,
            what,
            socket,
        });
        self.timeline.insert(t_us, Row::Entry(seq));
    }

    /// The bytes of the oldest unconfirmed send of `id`, if the console knows them.
    fn confirm(&mut self, id: SocketId, len: usize) -> Option<Vec<u8>> {
        let data = self
            .unconfirmed
            .get_mut(&id)
            .and_then(VecDeque::pop_front)?;
        (data.len() == len).then_some(data)
    }

    fn forget_tcp(&mut self, id: SocketId) {
        self.tcp_addrs.remove(&id);
        self.unconfirmed.remove(&id);
        self.last_sent.remove(&id);
        if matches!(self.tcp, TcpConn::Connecting { id: i } | TcpConn::Open { id: i, .. } if i == id)
        {
            self.tcp = TcpConn::Idle;
        }
    }

    fn proto_of(&self, id: SocketId) -> Option<Proto> {
        if self.udp.iter().any(|(_, u)| *u == id) {
            return Some(Proto::Udp);
        }
        let current = match self.tcp {
            TcpConn::Connecting { id } | TcpConn::Open { id, .. } => Some(id),
            TcpConn::Idle => None,
        };
        (current == Some(id) || self.tcp_addrs.contains_key(&id))
            .then_some(Proto::Tcp)
            .or_else(|| self.experiment_protos.get(&id).copied())
    }

    fn note(&mut self, proto: Option<Proto>, what: What) {
        let seq = self.log.push(Entry {
            t_us: None,
            called_us: None,
            began_before: false,
            proto,
            side: Side::Bridge,
            what,
            socket: None,
        });
        // The console's own notes have no bridge time: they go at the end, where they happen.
        let last = self.timeline.last_time();
        self.timeline.insert(last, Row::Entry(seq));
    }
}

#[cfg(test)]
mod tests;

/// What the learner clicked in the wire view or the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Selection {
    None,
    Packet(u64),
    Entry(u64),
}

/// The socket an event is about.
fn socket_of(body: &EventBody) -> Option<SocketId> {
    match body {
        EventBody::TcpConnected { id, .. }
        | EventBody::TcpSent { id, .. }
        | EventBody::TcpReceived { id, .. }
        | EventBody::TcpClosing { id }
        | EventBody::TcpClosed { id, .. }
        | EventBody::UdpSent { id, .. }
        | EventBody::UdpReceived { id, .. }
        | EventBody::UdpClosed { id }
        | EventBody::UdpNoReply { id, .. }
        | EventBody::Server { id, .. } => Some(*id),
        EventBody::Error { id, .. } => *id,
        _ => None,
    }
}

/// The bytes a log entry shows, if it shows some.
fn entry_bytes(e: &Entry) -> Option<&[u8]> {
    match &e.what {
        What::Sent { data, .. } => data.as_deref(),
        What::Echo { data, .. } | What::ServerRecv { data } => Some(data),
        What::ServerRecvFrom { data, .. } => Some(data),
        _ => None,
    }
}
