//! The recording file's lines (docs/protocol.md, "Recordings"), in one place for the two that
//! write it — the console's "Save recording" and `bridge --export-site` — and the console's
//! replay, which reads it.
//!
//! JSON Lines: a header, then in order every event frame the bridge sent (verbatim), the
//! console's own command frames wrapped as `{"console":…}`, and its clicks on experiment buttons
//! as `{"action":…,"next_id":…,"params":…}`.

use crate::SocketId;

/// What a recording's header says it is.
pub const FORMAT: &str = "socket-lab-recording";

/// The header line (without its newline): when it was saved, from which bridge URL, how many
/// lines follow, and whether recording stopped early (`complete: false`).
pub fn header(saved_unix_ms: u64, bridge: &str, frames: usize, complete: bool) -> String {
    let mut out = format!(
        "{{\"format\":\"{FORMAT}\",\"version\":1,\"saved_unix_ms\":{saved_unix_ms},\"bridge\":"
    );
    crate::json::push_string(&mut out, bridge);
    out.push_str(&format!(",\"frames\":{frames},\"complete\":{complete}}}"));
    out
}

/// The line of a command frame the console sent.
pub fn console_line(frame: &str) -> String {
    format!("{{\"console\":{frame}}}")
}

/// The line of a click: the action's name, the console's next socket id then, and its controls'
/// values (`key=value&…`, every byte but letters and digits as `%XX`: no quote to escape).
pub fn action_line(action: &str, next_id: SocketId, params: &str) -> String {
    format!("{{\"action\":\"{action}\",\"next_id\":{next_id},\"params\":\"{params}\"}}")
}

/// One line after the header, told apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line<'a> {
    /// An event frame from the bridge (read it with `Event::from_json`).
    Event(&'a str),
    /// A command frame the console sent.
    Console(&'a str),
    Action {
        name: &'a str,
        next_id: SocketId,
        params: &'a str,
    },
}

/// Tells a line apart; a malformed action line is an error.
pub fn line(text: &str) -> Result<Line<'_>, &'static str> {
    if let Some(rest) = text.strip_prefix("{\"action\":\"") {
        let bad = "a malformed action";
        let (name, rest) = rest.split_once("\",\"next_id\":").ok_or(bad)?;
        let (next_id, rest) = rest.split_once(",\"params\":\"").ok_or(bad)?;
        let params = rest.strip_suffix("\"}").ok_or(bad)?;
        let next_id = next_id.parse().map_err(|_| bad)?;
        return Ok(Line::Action {
            name,
            next_id,
            params,
        });
    }
    if let Some(frame) = text
        .strip_prefix("{\"console\":")
        .and_then(|l| l.strip_suffix('}'))
    {
        return Ok(Line::Console(frame));
    }
    Ok(Line::Event(text))
}

/// Whether `header` is a recording's header, and whether it says the recording is complete.
pub fn read_header(header: &str) -> Option<bool> {
    header
        .contains(&format!("\"format\":\"{FORMAT}\""))
        .then(|| !header.contains("\"complete\":false"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_line_reads_back_as_written() {
        let header = header(7, "ws://x/\"ws\"", 3, false);
        let value: serde_json::Value = serde_json::from_str(&header).unwrap();
        assert_eq!(value["format"], FORMAT);
        assert_eq!(value["bridge"], "ws://x/\"ws\"");
        assert_eq!(value["complete"], false);
        assert_eq!(read_header(&header), Some(false));
        assert_eq!(read_header("{}"), None);
        let frame = r#"{"v":1,"type":"tcp_close","id":1}"#;
        assert_eq!(line(&console_line(frame)), Ok(Line::Console(frame)));
        assert_eq!(
            line(&action_line("sticky_run", 7, "size=3")),
            Ok(Line::Action {
                name: "sticky_run",
                next_id: 7,
                params: "size=3"
            })
        );
        assert_eq!(line(r#"{"v":1}"#), Ok(Line::Event(r#"{"v":1}"#)));
        assert!(line(r#"{"action":"x","next_id":z,"params":""}"#).is_err());
    }
}
