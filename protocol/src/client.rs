//! Commands from the console to the bridge.
//!
//! A command names one of the lab's servers only through its protocol (`tcp_*` goes to the TCP
//! echo server, `udp_*` to the UDP one) and one of the session's own sockets through an `id` the
//! console chose. There is deliberately no way to name a host or port.

use crate::{Bytes, SocketId, VERSION};
use serde::{Deserialize, Serialize};

/// One frame from the console: `{"v":1,"type":"tcp_send","id":1,"data":"aGk="}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientMsg {
    /// Protocol version; must equal [`VERSION`].
    pub v: u32,
    #[serde(flatten)]
    pub cmd: Command,
}

/// What the console asks the bridge to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Command {
    /// Open a TCP connection from a new client socket to the lab's TCP echo server.
    TcpConnect { id: SocketId },
    /// `send()` these bytes on connection `id`.
    TcpSend { id: SocketId, data: Bytes },
    /// Close connection `id` the polite way: `shutdown(SHUT_WR)` sends our FIN, then the bridge
    /// reads until the server's FIN arrives, so the log shows the teardown in its real order.
    TcpClose { id: SocketId },
    /// `sendto()` one datagram to the lab's UDP echo server from UDP socket `id` (opened on first
    /// use; UDP has no connection, so there is no "connect" command).
    UdpSend { id: SocketId, data: Bytes },
    /// Close UDP socket `id`. Nothing goes on the wire: there is no connection to tear down.
    UdpClose { id: SocketId },
}

impl ClientMsg {
    /// Wraps a command in the current protocol version.
    pub fn new(cmd: Command) -> Self {
        ClientMsg { v: VERSION, cmd }
    }

    /// The JSON text frame for this message.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("commands always serialise")
    }

    /// Parses one text frame, telling apart the ways it can be wrong so that the learner gets an
    /// error that says *what* was wrong, not just "invalid".
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
        if !Command::NAMES.contains(&kind.as_str()) {
            return Err(ParseError::UnknownCommand(Some(kind)));
        }
        serde_json::from_value(value).map_err(|e| ParseError::BadCommand {
            kind,
            reason: e.to_string(),
        })
    }
}

impl Command {
    /// Every command's `type`, for error messages and docs.
    pub const NAMES: &'static [&'static str] = &[
        "tcp_connect",
        "tcp_send",
        "tcp_close",
        "udp_send",
        "udp_close",
    ];

    /// The socket the command is about.
    pub fn id(&self) -> SocketId {
        match self {
            Command::TcpConnect { id }
            | Command::TcpSend { id, .. }
            | Command::TcpClose { id }
            | Command::UdpSend { id, .. }
            | Command::UdpClose { id } => *id,
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
                "the frame has no command \"type\" (one of: {})",
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
    fn every_name_in_the_list_parses() {
        for name in Command::NAMES {
            let json = format!(r#"{{"v":1,"type":"{name}","id":1,"data":""}}"#);
            let msg = ClientMsg::from_json(&json).unwrap();
            assert_eq!(msg.cmd.id(), 1);
        }
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
