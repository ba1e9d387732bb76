//! Commands from the console to the bridge.
//!
//! A command names one of the lab's servers only through its protocol (`tcp_*` goes to the TCP
//! echo server, `udp_*` to the UDP one) and one of the session's own sockets through an `id` the
//! console chose. There is deliberately no way to name a host or port.

use crate::{Bytes, FileSource, Framing, LabSpec, ServerId, SocketId, Target, Transport, VERSION};
use serde::Deserialize;

/// One frame from the console: `{"v":1,"type":"tcp_send","id":1,"data":"aGk="}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ClientMsg {
    /// Protocol version; must equal [`VERSION`].
    pub v: u32,
    #[serde(flatten)]
    pub cmd: Command,
}

/// What the console asks the bridge to do.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Command {
    /// Open a TCP connection from a new client socket to the lab's TCP echo server (or to `to`).
    TcpConnect {
        id: SocketId,
        #[serde(default)]
        to: Target,
    },
    /// `send()` these bytes on connection `id`.
    TcpSend { id: SocketId, data: Bytes },
    /// `send()` each message right after the other on connection `id` (one call each, no pause),
    /// marked with `framing` (length prefix or delimiter) if asked.
    TcpSendBurst {
        id: SocketId,
        messages: Vec<Bytes>,
        #[serde(default)]
        framing: Framing,
    },
    /// Close connection `id` the polite way: `shutdown(SHUT_WR)` sends our FIN, then the bridge
    /// reads until the server's FIN arrives, so the log shows the teardown in its real order.
    TcpClose { id: SocketId },
    /// `sendto()` one datagram to the lab's UDP echo server from UDP socket `id` (opened on first
    /// use; UDP has no connection, so there is no "connect" command). `to` and `connected` are
    /// read when the socket is opened: a *connected* UDP socket (`connect()` then `send()`) is
    /// told by the kernel when the peer's port is closed (ICMP port unreachable).
    UdpSend {
        id: SocketId,
        data: Bytes,
        #[serde(default)]
        to: Target,
        #[serde(default)]
        connected: bool,
    },
    /// Close UDP socket `id`. Nothing goes on the wire: there is no connection to tear down.
    UdpClose { id: SocketId },
    /// Start lab server `server` with these settings, on a loopback port the bridge picks. An
    /// existing lab server with the same id is stopped and replaced.
    LabStart { server: ServerId, spec: LabSpec },
    /// Stop lab server `server` (its port is kept in view, e.g. for TIME_WAIT).
    LabStop { server: ServerId },
    /// Stop lab server `server` if it runs, then bind its port again, with or without
    /// `SO_REUSEADDR`: the real `bind()` error, if any, is reported.
    LabRestart { server: ServerId, reuseaddr: bool },
    /// Lab server `server` closes every connection it has first (the server's active close).
    LabCloseClients { server: ServerId },
    /// Send a file over a new socket `id`: TCP in chunks like `for line in f: conn.send(line)`,
    /// UDP as numbered datagrams of at most `datagram` bytes.
    FileStart {
        id: SocketId,
        transport: Transport,
        #[serde(default)]
        to: Target,
        source: FileSource,
        #[serde(default = "default_datagram")]
        datagram: usize,
    },
    /// The next piece of an uploaded file.
    FileChunk { id: SocketId, data: Bytes },
    /// Stop a file transfer now.
    FileCancel { id: SocketId },
}

fn default_datagram() -> usize {
    1024
}

impl ClientMsg {
    /// Wraps a command in the current protocol version.
    pub fn new(cmd: Command) -> Self {
        ClientMsg { v: VERSION, cmd }
    }

    /// Parses one text frame, telling apart the ways it can be wrong so that the learner gets an
    /// error that says *what* was wrong, not just "invalid".
    ///
    /// `#[inline]`: compiled in the bridge, with its settings (see [`crate::Event::to_json`]).
    #[inline]
    pub fn from_json(text: &str) -> Result<ClientMsg, ParseError> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| ParseError::BadJson(e.to_string()))?;
        let Some(object) = value.as_object() else {
            return Err(ParseError::BadJson(format!(
                "expected an object, got {value}"
            )));
        };
        match object.get("v") {
            Some(serde_json::Value::Number(n)) if n.as_u64() == Some(VERSION as u64) => {}
            other => return Err(ParseError::BadVersion(other.map(|v| v.to_string()))),
        }
        let kind = match object.get("type") {
            Some(serde_json::Value::String(s)) => s.clone(),
            _ => return Err(ParseError::UnknownCommand(None)),
        };
        let Some(fields) = Command::fields(&kind) else {
            return Err(ParseError::UnknownCommand(Some(kind)));
        };
        // A misspelt optional field ("conected") would otherwise be silently replaced by its
        // default: name it instead. (Events stay tolerant: a newer bridge may add fields.)
        if let Some(unknown) = object
            .keys()
            .find(|k| !matches!(k.as_str(), "v" | "type") && !fields.contains(&k.as_str()))
        {
            return Err(ParseError::BadCommand {
                reason: format!(
                    "unknown field {unknown:?} (a {kind} has: {})",
                    fields.join(", ")
                ),
                kind,
            });
        }
        // A field given twice would be read as its last value without a word (`Value` keeps
        // one): say so instead, as for a misspelt one. Checked after the unknown fields, so
        // that only the command's few field names can repeat (a bounded check).
        if let Ok(Twice(Some(twice))) = serde_json::from_str::<Twice>(text) {
            return Err(ParseError::BadCommand {
                reason: format!("the field {twice:?} is given twice"),
                kind,
            });
        }
        serde_json::from_value(value).map_err(|e| ParseError::BadCommand {
            kind,
            reason: e.to_string(),
        })
    }
}

/// The first top-level key of a JSON object that is given twice, if any (serde_json's `Value`
/// keeps only the last of two equal keys). Keys are borrowed from the text, values skipped: no
/// allocation but the list of distinct keys seen. A key written with escapes cannot be
/// borrowed; the parse then fails and nothing is said.
struct Twice<'a>(Option<&'a str>);

impl<'de> Deserialize<'de> for Twice<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Twice<'de>, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Twice<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let mut seen: Vec<&'de str> = vec![];
                let mut twice = None;
                while let Some(key) = map.next_key::<&'de str>()? {
                    map.next_value::<serde::de::IgnoredAny>()?;
                    if twice.is_none() {
                        if seen.contains(&key) {
                            twice = Some(key);
                        } else {
                            seen.push(key);
                        }
                    }
                }
                Ok(Twice(twice))
            }
        }
        d.deserialize_map(Visit)
    }
}

impl Command {
    /// `tcp_connect` to the lab's TCP echo server.
    pub fn tcp_connect(id: SocketId) -> Command {
        Command::TcpConnect {
            id,
            to: Target::Echo,
        }
    }

    /// `udp_send` to the lab's UDP echo server from an unconnected socket.
    pub fn udp_send(id: SocketId, data: impl Into<Bytes>) -> Command {
        Command::UdpSend {
            id,
            data: data.into(),
            to: Target::Echo,
            connected: false,
        }
    }

    /// Every command's `type`, for error messages and docs.
    pub const NAMES: &'static [&'static str] = &[
        "tcp_connect",
        "tcp_send",
        "tcp_send_burst",
        "tcp_close",
        "udp_send",
        "udp_close",
        "lab_start",
        "lab_stop",
        "lab_restart",
        "lab_close_clients",
        "file_start",
        "file_chunk",
        "file_cancel",
    ];

    /// The fields a command of type `kind` may have (besides `v` and `type`), or `None` for an
    /// unknown type. Kept next to [`Command::NAMES`]; a test checks both against the enum.
    pub fn fields(kind: &str) -> Option<&'static [&'static str]> {
        Some(match kind {
            "tcp_connect" => &["id", "to"],
            "tcp_send" | "file_chunk" => &["id", "data"],
            "tcp_send_burst" => &["id", "messages", "framing"],
            "tcp_close" | "udp_close" | "file_cancel" => &["id"],
            "udp_send" => &["id", "data", "to", "connected"],
            "lab_start" => &["server", "spec"],
            "lab_stop" | "lab_close_clients" => &["server"],
            "lab_restart" => &["server", "reuseaddr"],
            "file_start" => &["id", "transport", "to", "source", "datagram"],
            _ => return None,
        })
    }

    /// The socket the command is about, if it is about one.
    pub fn id(&self) -> Option<SocketId> {
        match self {
            Command::TcpConnect { id, .. }
            | Command::TcpSend { id, .. }
            | Command::TcpSendBurst { id, .. }
            | Command::TcpClose { id }
            | Command::UdpSend { id, .. }
            | Command::UdpClose { id }
            | Command::FileStart { id, .. }
            | Command::FileChunk { id, .. }
            | Command::FileCancel { id } => Some(*id),
            Command::LabStart { .. }
            | Command::LabStop { .. }
            | Command::LabRestart { .. }
            | Command::LabCloseClients { .. } => None,
        }
    }
}

/// Why a frame from the console could not be understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// Not JSON at all (or not a JSON object).
    BadJson(String),
    /// Missing or different `v`.
    BadVersion(Option<String>),
    /// `type` missing or not one of [`Command::NAMES`].
    UnknownCommand(Option<String>),
    /// A known command with missing or wrong fields.
    BadCommand { kind: String, reason: String },
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParseError::BadJson(e) => write!(f, "the frame is not a JSON object: {e}"),
            ParseError::BadVersion(None) => {
                write!(
                    f,
                    "the frame has no protocol version \"v\" (this bridge speaks v{VERSION})"
                )
            }
            ParseError::BadVersion(Some(v)) => {
                write!(
                    f,
                    "protocol version {v} is not supported (this bridge speaks v{VERSION})"
                )
            }
            ParseError::UnknownCommand(None) => write!(
                f,
                "the frame's command \"type\" is missing or not a string (one of: {})",
                Command::NAMES.join(", ")
            ),
            ParseError::UnknownCommand(Some(k)) => write!(
                f,
                "unknown command type {k:?} (one of: {})",
                Command::NAMES.join(", ")
            ),
            ParseError::BadCommand { kind, reason } => write!(f, "bad {kind} command: {reason}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_round_trips_with_its_version_and_base64_payload() {
        let msg = ClientMsg::new(Command::TcpSend {
            id: 3,
            data: "hi".into(),
        });
        let json = msg.to_json();
        assert_eq!(json, r#"{"v":1,"type":"tcp_send","id":3,"data":"aGk="}"#);
        assert_eq!(ClientMsg::from_json(&json).unwrap(), msg);
    }

    #[test]
    fn every_command_has_its_fields_listed_and_no_more() {
        for name in Command::NAMES {
            let fields = Command::fields(name).unwrap_or_else(|| panic!("{name} has no fields"));
            // Every listed field is one serde knows: with all of them, the command parses.
            let sample = |f: &str| match f {
                "id" | "server" => "1",
                "data" => "\"\"",
                "messages" => "[]",
                "framing" => "\"length\"",
                "to" => "\"nobody\"",
                "connected" | "reuseaddr" => "true",
                "spec" => r#"{"transport":"tcp"}"#,
                "transport" => "\"udp\"",
                "source" => r#"{"generated":{"size":10}}"#,
                "datagram" => "100",
                other => panic!("no sample for {other}"),
            };
            let body: Vec<String> = fields
                .iter()
                .map(|f| format!("\"{f}\":{}", sample(f)))
                .collect();
            let json = format!(r#"{{"v":1,"type":"{name}",{}}}"#, body.join(","));
            ClientMsg::from_json(&json).unwrap_or_else(|e| panic!("{json}: {e}"));
        }
        assert_eq!(Command::fields("connect_anywhere"), None);
    }

    #[test]
    fn a_field_given_twice_is_named_not_silently_the_last() {
        let err = ClientMsg::from_json(r#"{"v":1,"type":"tcp_connect","id":1,"type":"udp_close"}"#)
            .unwrap_err();
        assert!(
            err.to_string()
                .contains(r#"the field "type" is given twice"#),
            "{err}"
        );
        let err = ClientMsg::from_json(r#"{"v":1,"type":"tcp_send","id":1,"data":"","id":2}"#)
            .unwrap_err();
        assert!(err.to_string().contains(r#""id" is given twice"#), "{err}");
        assert!(ClientMsg::from_json(r#"{"v":1,"type":"tcp_send","id":1,"data":""}"#).is_ok());
    }

    #[test]
    fn a_misspelt_field_is_named_not_replaced_by_its_default() {
        let err =
            ClientMsg::from_json(r#"{"v":1,"type":"udp_send","id":1,"data":"","conected":true}"#)
                .unwrap_err();
        assert_eq!(
            err.to_string(),
            "bad udp_send command: unknown field \"conected\" (a udp_send has: id, data, to, connected)"
        );
        let err = ClientMsg::from_json(r#"{"v":1,"type":"tcp_connect","id":1,"to ":"nobody"}"#)
            .unwrap_err();
        assert!(err.to_string().contains(r#"unknown field "to ""#), "{err}");
        // Inside a lab server's spec too.
        let err = ClientMsg::from_json(
            r#"{"v":1,"type":"lab_start","server":1,"spec":{"transport":"tcp","backlgo":1}}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("backlgo"), "{err}");
        let err = ClientMsg::from_json(
            r#"{"v":1,"type":"file_start","id":1,"transport":"tcp","source":{"upload":{"name":"a","size":1,"sizee":2}}}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("sizee"), "{err}");
    }

    #[test]
    fn targets_and_lab_specs_default_to_the_tutorials() {
        let msg = ClientMsg::from_json(r#"{"v":1,"type":"tcp_connect","id":1}"#).unwrap();
        assert_eq!(
            msg.cmd,
            Command::TcpConnect {
                id: 1,
                to: Target::Echo
            }
        );
        let msg = ClientMsg::from_json(r#"{"v":1,"type":"tcp_connect","id":1,"to":{"lab":4}}"#);
        assert_eq!(
            msg.unwrap().cmd,
            Command::TcpConnect {
                id: 1,
                to: Target::Lab(4)
            }
        );
        let json = r#"{"v":1,"type":"lab_start","server":1,"spec":{"transport":"tcp","read_delay_ms":100}}"#;
        let Command::LabStart { spec, .. } = ClientMsg::from_json(json).unwrap().cmd else {
            panic!()
        };
        assert_eq!(
            spec,
            LabSpec {
                read_delay_ms: 100,
                ..LabSpec::tutorial(Transport::Tcp)
            }
        );
    }

    #[test]
    fn each_kind_of_bad_frame_gets_its_own_error() {
        assert!(matches!(
            ClientMsg::from_json("{nope"),
            Err(ParseError::BadJson(_))
        ));
        assert!(matches!(
            ClientMsg::from_json("[1,2]"),
            Err(ParseError::BadJson(_))
        ));
        assert_eq!(
            ClientMsg::from_json(r#"{"type":"tcp_connect","id":1}"#),
            Err(ParseError::BadVersion(None))
        );
        assert_eq!(
            ClientMsg::from_json(r#"{"v":9,"type":"tcp_connect","id":1}"#),
            Err(ParseError::BadVersion(Some("9".into())))
        );
        assert_eq!(
            ClientMsg::from_json(r#"{"v":1,"type":"connect_anywhere","host":"example.com"}"#),
            Err(ParseError::UnknownCommand(Some("connect_anywhere".into())))
        );
        let err = ClientMsg::from_json(r#"{"v":1,"type":"tcp_send","id":1}"#).unwrap_err();
        assert!(err.to_string().contains("bad tcp_send command"), "{err}");
        assert!(err.to_string().contains("data"), "{err}");
    }
}
