//! Turns a log [`Entry`] into the words and numbers a learner reads, in their language.
//!
//! Pure functions, tested natively: the DOM layer only puts these strings into elements.
//! Payloads are the server's real bytes, decoded for display only: valid UTF-8 is shown as
//! text, and any byte that is not (e.g. half of "é" at the end of a TCP read) is shown as `\xC3`,
//! so nothing is hidden and nothing is "fixed" in the browser.

use crate::i18n::{Catalog, fill, fill_owned};
use crate::model::facts::Failure;
use crate::model::log::{BrowserCall, Entry, Proto, Side, What};
use protocol::CloseBy;

/// One log line, ready to display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Line {
    /// "1.234 ms" since the session began, or empty for the console's own notes.
    pub(crate) time: String,
    /// "TCP", "UDP" or "".
    pub(crate) proto: &'static str,
    pub(crate) side: &'static str,
    /// What happened.
    pub(crate) text: String,
    /// The addresses involved, e.g. "127.0.0.1:50000 → 127.0.0.1:8080".
    pub(crate) addrs: Option<String>,
    /// The payload, quoted and escaped.
    pub(crate) payload: Option<String>,
    /// A stable name for styling and for tests: "sent", "echo", "server", "conn", "error", "note".
    pub(crate) kind: &'static str,
    /// For a call: how long it took, entered to returned ("took 120 µs").
    pub(crate) took: Option<String>,
}

pub(crate) fn line(c: &Catalog, e: &Entry) -> Line {
    let n = |len: usize| bytes(len);
    let mut addrs = None;
    let mut payload = None;
    let (kind, text) = match &e.what {
        What::Connected {
            local,
            peer,
            connect_us,
        } => {
            addrs = Some(format!("{local} → {peer}"));
            (
                "conn",
                fill(c.ev_connected, &[("us", &micros(*connect_us))]),
            )
        }
        What::Sent {
            len,
            data,
            from,
            to,
            connected,
        } => {
            addrs = Some(format!("{from} → {to}"));
            payload = data.as_deref().map(quote);
            let template = match (e.proto, connected) {
                (Some(Proto::Udp), true) => c.ev_udp_sent_connected,
                (Some(Proto::Udp), false) => c.ev_udp_sent,
                _ => c.ev_tcp_sent,
            };
            ("sent", fill(template, &[("n", &n(*len))]))
        }
        What::Echo {
            data,
            from,
            to,
            rtt_us,
        } => {
            addrs = Some(format!("{from} → {to}"));
            payload = Some(quote(data));
            let template = if e.proto == Some(Proto::Udp) {
                c.ev_udp_echo
            } else {
                c.ev_tcp_echo
            };
            let mut text = fill(template, &[("n", &n(data.len()))]);
            if let Some(rtt) = rtt_us {
                text += " · ";
                text += &fill(c.rtt, &[("us", &micros(*rtt))]);
            }
            ("echo", text)
        }
        What::Closing => ("conn", c.ev_closing.to_string()),
        What::Closed {
            by: CloseBy::Client,
        } => ("conn", c.ev_closed_by_client.to_string()),
        What::Closed {
            by: CloseBy::Server,
        } => ("conn", c.ev_closed_by_server.to_string()),
        What::UdpClosed => ("conn", c.ev_udp_closed.to_string()),
        What::ServerAccept { peer } => {
            ("server", fill(c.ev_accept, &[("peer", &peer.to_string())]))
        }
        What::ServerRecv { data } => {
            payload = Some(quote(data));
            ("server", fill(c.ev_server_recv, &[("n", &n(data.len()))]))
        }
        What::ServerSend { len } => ("server", fill(c.ev_server_send, &[("n", &n(*len))])),
        What::ServerClose {
            error: None,
            idle_s: None,
            active: false,
            waited_ms: None,
        } => ("server", c.ev_server_close_eof.to_string()),
        What::ServerClose {
            error: None,
            idle_s: None,
            active: false,
            waited_ms: Some(ms),
        } => (
            "server",
            fill(c.ev_server_close_waited, &[("ms", &ms.to_string())]),
        ),
        What::ServerClose {
            error: None,
            idle_s: None,
            active: true,
            ..
        } => ("server", c.ev_server_close_active.to_string()),
        What::ServerClose {
            idle_s: Some(seconds),
            ..
        } => (
            "server",
            fill(c.ev_server_close_idle, &[("seconds", &seconds.to_string())]),
        ),
        What::ServerClose {
            error: Some(error), ..
        } => ("server", fill(c.ev_server_close_error, &[("error", error)])),
        What::UdpDropped { dropped, rcvbuf } => {
            let values = [("n", dropped.to_string()), ("size", bytes(*rcvbuf))];
            ("error", fill_owned(c.ev_udp_dropped, &values))
        }
        What::SessionIdle { seconds } => (
            "error",
            fill(c.ev_session_idle, &[("time", &duration(c, *seconds))]),
        ),
        What::BridgeClosed { code: 1009 } => ("error", c.ev_frame_too_big.to_string()),
        What::BridgeClosed { code } => (
            "error",
            fill(c.ev_bridge_closed, &[("code", &code.to_string())]),
        ),
        What::ServerRecvFrom { peer, data, size } => {
            payload = Some(quote(data));
            let values = [("n", n(data.len())), ("peer", peer.to_string())];
            let mut text = fill_owned(c.ev_server_recvfrom, &values);
            if *size > data.len() {
                let values = [("size", n(*size)), ("lost", n(size - data.len()))];
                text += &fill_owned(c.ev_truncated, &values);
            }
            ("server", text)
        }
        What::ServerMessage { data } => {
            payload = Some(quote(data));
            (
                "server",
                fill(c.ev_server_message, &[("n", &n(data.len()))]),
            )
        }
        What::NoReply { waited_ms } => {
            // Whole seconds when whole ("2 s", as the experiments say it), else one decimal.
            let seconds = if waited_ms % 1000 == 0 {
                (waited_ms / 1000).to_string()
            } else {
                fixed(*waited_ms, 1000, 1)
            };
            ("error", fill(c.ev_no_reply, &[("seconds", &seconds)]))
        }
        What::ServerSendTo { peer, len } => {
            let values = [("n", n(*len)), ("peer", peer.to_string())];
            ("server", fill_owned(c.ev_server_sendto, &values))
        }
        What::Error { failure } => (
            "error",
            fill(c.ev_error, &[("message", &failure_text(c, failure))]),
        ),
        What::BridgeUp { url } => ("note", fill(c.ev_bridge_up, &[("url", url)])),
        What::BridgeDown { url } => ("error", fill(c.ev_bridge_down, &[("url", url)])),
        What::NoBridge => ("error", c.ev_no_bridge.to_string()),
        What::NotLive => ("error", c.ev_not_live.to_string()),
        What::Replay { from, unreachable } => match unreachable {
            Some(url) => (
                "note",
                fill(c.ev_replay_unreachable, &[("url", url), ("from", from)]),
            ),
            None => ("note", fill(c.ev_replay, &[("from", from)])),
        },
        What::ReplayFailed { from, why } => (
            "error",
            fill(c.ev_replay_failed, &[("from", from), ("why", why)]),
        ),
        What::ReplayEnded => ("note", c.ev_replay_ended.to_string()),
        What::OutOfRange(r) => {
            let values = [
                ("label", r.label(c).to_string()),
                ("value", r.value.clone()),
                ("min", r.min.to_string()),
                ("max", r.max.to_string()),
            ];
            ("error", fill_owned(c.ev_out_of_range, &values))
        }
        What::TooLarge { len, max } => {
            let values = [("n", n(*len)), ("max", n(*max))];
            ("error", fill_owned(c.ev_too_large, &values))
        }
        What::BadFrame { reason } => ("error", fill(c.ev_bad_frame, &[("reason", reason)])),
        What::Browser { failed, error } => {
            let text = match failed {
                BrowserCall::ReadFile { file } => {
                    fill(c.ev_file_unreadable, &[("file", file), ("error", error)])
                }
                BrowserCall::Send => fill(c.ev_send_failed, &[("error", error)]),
                BrowserCall::Open { url } => {
                    fill(c.ev_open_failed, &[("url", url), ("error", error)])
                }
            };
            ("error", text)
        }
    };
    Line {
        time: e.t_us.map(millis).unwrap_or_default(),
        proto: match e.proto {
            Some(Proto::Tcp) => "TCP",
            Some(Proto::Udp) => "UDP",
            None => "",
        },
        side: match e.side {
            Side::Client => c.side_client,
            Side::Server => c.side_server,
            Side::Bridge => c.side_bridge,
        },
        text,
        addrs,
        payload,
        kind,
        took: e.called_us.zip(e.t_us).map(|(entered, returned)| {
            if e.began_before {
                return c.w.waited_before.to_string();
            }
            let template = if waits(e) { c.w.waited } else { c.w.took };
            fill(template, &[("took", &micros(returned - entered))])
        }),
    }
}

/// Is this a call that blocks until the other side acts (data or a client arrives): a
/// `recv()`, `recvfrom()` or `accept()`? Its duration is a wait, not work.
pub(crate) fn waits(e: &Entry) -> bool {
    matches!(
        e.what,
        What::Echo { .. }
            | What::ServerRecv { .. }
            | What::ServerRecvFrom { .. }
            | What::ServerAccept { .. }
            | What::Closed { .. }
    )
}

/// An error in the learner's language: the bridge's detailed message in English, a description
/// of its code in other languages (no mixed-language UI); the errno name in front either way.
pub(crate) fn failure_text(c: &Catalog, f: &Failure) -> String {
    let text = if c.bridge_text {
        f.message.clone()
    } else {
        // In another language: what it means, and which call on which address failed (the
        // bridge's "connect() to 127.0.0.1:9 failed: …" gives both; its English prose is not
        // repeated).
        let meaning = f
            .errno
            .as_deref()
            .and_then(c.errno_meaning)
            .unwrap_or((c.error)(f.code));
        match f.message.split_once(" failed") {
            Some((call, _)) if f.errno.is_some() => {
                // The bridge's only English words in a call: "to" and a lab server's option.
                let call = call
                    .replacen(" to ", " → ", 1)
                    .replacen(crate::i18n::EN.reuse_without, c.reuse_without, 1)
                    .replacen(crate::i18n::EN.reuse_with, c.reuse_with, 1);
                fill(c.error_detail, &[("text", meaning), ("detail", &call)])
            }
            _ => meaning.to_string(),
        }
    };
    match &f.errno {
        Some(name) => fill(c.errno_text, &[("errno", name), ("text", &text)]),
        None => text,
    }
}

/// "12 B".
pub(crate) fn bytes(n: usize) -> String {
    format!("{n} B")
}

/// Microseconds, as "57 µs" or "1.25 ms".
pub(crate) fn micros(us: u64) -> String {
    if us < 1000 {
        format!("{us} µs")
    } else {
        format!("{} ms", fixed(us, 1000, 2))
    }
}

/// `numerator / denominator` with `decimals` digits after the point, rounded half up:
/// `fixed(1255, 1000, 2)` is "1.26". Integer arithmetic on purpose: formatting an `f64` pulls
/// the float-printing code into the WebAssembly module (about 7 KB gzipped), for three numbers.
pub(crate) fn fixed(numerator: u64, denominator: u64, decimals: u32) -> String {
    let scale = 10u64.pow(decimals);
    let denominator = denominator.max(1);
    let scaled = numerator
        .saturating_mul(scale)
        .saturating_mul(2)
        .saturating_add(denominator)
        / (2 * denominator);
    let width = decimals as usize;
    format!("{}.{:0width$}", scaled / scale, scaled % scale)
}

/// A session timestamp, as milliseconds with microsecond precision: "1523.042 ms".
/// "57 s" / "57 秒": a whole number of seconds, in the console's language.
pub(crate) fn seconds(c: &Catalog, n: u64) -> String {
    fill(c.seconds, &[("n", &n.to_string())])
}

/// A bridge setting in seconds as it was given: "15 min" when whole minutes, else "90 s".
pub(crate) fn duration(c: &Catalog, seconds: u32) -> String {
    if seconds >= 60 && seconds.is_multiple_of(60) {
        fill(c.minutes, &[("n", &(seconds / 60).to_string())])
    } else {
        self::seconds(c, seconds.into())
    }
}

pub(crate) fn millis(us: u64) -> String {
    format!("{}.{:03} ms", us / 1000, us % 1000)
}

/// The bytes as text where they are UTF-8, `\xNN` where they are not, in quotes.
pub(crate) fn quote(data: &[u8]) -> String {
    let mut out = String::from("\"");
    let mut rest = data;
    while !rest.is_empty() {
        let (valid, bad) = match std::str::from_utf8(rest) {
            Ok(s) => (s, 0),
            Err(e) => {
                let valid = std::str::from_utf8(&rest[..e.valid_up_to()]).unwrap_or_default();
                // error_len() is None when the input ends inside a character: all the rest.
                (valid, e.error_len().unwrap_or(rest.len() - e.valid_up_to()))
            }
        };
        for ch in valid.chars() {
            match ch {
                '"' => out += "\\\"",
                '\\' => out += "\\\\",
                '\n' => out += "\\n",
                '\r' => out += "\\r",
                '\t' => out += "\\t",
                c if c.is_control() => out += &format!("\\x{:02X}", c as u32),
                c => out.push(c),
            }
        }
        let start = valid.len();
        for b in &rest[start..start + bad] {
            out += &format!("\\x{b:02X}");
        }
        rest = &rest[start + bad..];
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::{EN, ZH_CN};
    use wasm_bindgen_test::wasm_bindgen_test;

    /// The idle timeout as the bridge was given it: `--idle-timeout 20` is not "1 min".
    #[wasm_bindgen_test(unsupported = test)]
    fn an_idle_timeout_reads_as_it_was_set() {
        assert_eq!(duration(&EN, 20), "20 s");
        assert_eq!(duration(&EN, 90), "90 s");
        assert_eq!(duration(&EN, 900), "15 min");
        assert_eq!(duration(&ZH_CN, 20), "20 秒");
        assert_eq!(duration(&ZH_CN, 900), "15 分钟");
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn quotes_text_and_shows_broken_utf8_as_hex() {
        assert_eq!(quote("HéLLO".as_bytes()), "\"HéLLO\"");
        assert_eq!(
            quote(b"H\xC3"),
            "\"H\\xC3\"",
            "a read that ends inside \"é\""
        );
        assert_eq!(quote(b"\xA9LLO"), "\"\\xA9LLO\"", "and the next read");
        assert_eq!(quote(b"a\xFFb\n\"\0"), "\"a\\xFFb\\n\\\"\\x00\"");
        assert_eq!(quote(b""), "\"\"");
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn a_failed_calls_detail_is_said_in_the_consoles_language() {
        let failure = |message: &str| Failure {
            code: protocol::ErrorCode::Os,
            message: message.into(),
            errno: Some("EADDRINUSE".into()),
        };
        let without =
            failure("bind() 127.0.0.1:9 without SO_REUSEADDR failed: Address in use (os error 98)");
        assert_eq!(
            failure_text(&ZH_CN, &without),
            "EADDRINUSE：地址已被占用（bind() 127.0.0.1:9 未设置 SO_REUSEADDR）"
        );
        let with = failure("bind() 127.0.0.1:9 with SO_REUSEADDR failed: Address in use");
        assert!(failure_text(&ZH_CN, &with).contains("bind() 127.0.0.1:9 设置了 SO_REUSEADDR"));
        let refused = failure("connect() to 127.0.0.1:9 failed: Connection refused");
        assert!(failure_text(&ZH_CN, &refused).contains("connect() → 127.0.0.1:9"));
        // English shows the bridge's own words.
        assert_eq!(
            failure_text(&EN, &without),
            "EADDRINUSE: bind() 127.0.0.1:9 without SO_REUSEADDR failed: Address in use (os error 98)"
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn formats_times_and_sizes() {
        assert_eq!(millis(1_523_042), "1523.042 ms");
        assert_eq!(millis(7), "0.007 ms");
        assert_eq!(micros(999), "999 µs");
        assert_eq!(micros(1000), "1.00 ms");
        assert_eq!(micros(1254), "1.25 ms");
        assert_eq!(micros(1255), "1.26 ms");
        assert_eq!(micros(123_456_789), "123456.79 ms");
        assert_eq!(fixed(1500, 1000, 1), "1.5");
        assert_eq!(fixed(49, 1000, 1), "0.0");
        assert_eq!(fixed(50, 1000, 1), "0.1");
        assert_eq!(fixed(7, 0, 1), "7.0");
        assert_eq!(micros(57), "57 µs");
        assert_eq!(micros(1250), "1.25 ms");
        assert_eq!(bytes(12), "12 B");
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn an_echo_line_has_protocol_size_rtt_addresses_and_the_servers_bytes() {
        let e = Entry {
            t_us: Some(2100),
            called_us: Some(1900),
            began_before: false,
            socket: None,
            proto: Some(Proto::Tcp),
            side: Side::Client,
            what: What::Echo {
                data: b"HELLO SOCKET".to_vec(),
                from: "127.0.0.1:8080".parse().unwrap(),
                to: "127.0.0.1:50000".parse().unwrap(),
                rtt_us: Some(57),
            },
        };
        let l = line(&EN, &e);
        assert_eq!(l.kind, "echo");
        assert_eq!(l.proto, "TCP");
        assert_eq!(l.time, "2.100 ms");
        assert_eq!(
            l.text,
            "recv() → 12 B echo · round trip the calls saw 57 µs"
        );
        assert_eq!(l.took.as_deref(), Some("waited 200 µs"), "a recv() waits");
        assert_eq!(l.addrs.as_deref(), Some("127.0.0.1:8080 → 127.0.0.1:50000"));
        assert_eq!(l.payload.as_deref(), Some("\"HELLO SOCKET\""));
        let zh = line(&ZH_CN, &e);
        assert_eq!(zh.text, "recv() → 12 B 回显 · 调用看到的往返 57 µs");
        assert_eq!(zh.took.as_deref(), Some("等待了 200 µs"));
        // A shared server's call that was waiting before the session began claims no number.
        let before = Entry {
            began_before: true,
            ..e
        };
        assert_eq!(
            line(&EN, &before).took.as_deref(),
            Some("waiting since before this session")
        );
        assert_eq!(
            line(&ZH_CN, &before).took.as_deref(),
            Some("本次会话开始前就已在等待")
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn a_send_the_console_did_not_type_shows_the_bridges_count_and_no_payload() {
        let e = Entry {
            t_us: Some(1),
            called_us: None,
            began_before: false,
            socket: None,
            proto: Some(Proto::Tcp),
            side: Side::Client,
            what: What::Sent {
                len: 19,
                data: None,
                from: "127.0.0.1:50000".parse().unwrap(),
                to: "127.0.0.1:8080".parse().unwrap(),
                connected: false,
            },
        };
        let l = line(&EN, &e);
        assert_eq!(l.text, "send() 19 B");
        assert_eq!(l.payload, None);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn a_failed_browser_call_says_which_in_each_language() {
        let entry = |failed| Entry {
            t_us: None,
            called_us: None,
            began_before: false,
            proto: None,
            side: Side::Bridge,
            socket: None,
            what: What::Browser {
                failed,
                error: "NotReadableError".into(),
            },
        };
        let file = || BrowserCall::ReadFile {
            file: "notes.txt".into(),
        };
        let l = line(&EN, &entry(file()));
        assert_eq!(
            l.text,
            "the browser could not read the file notes.txt (NotReadableError)"
        );
        assert_eq!(l.kind, "error");
        assert_eq!(
            line(&ZH_CN, &entry(file())).text,
            "浏览器无法读取文件 notes.txt（NotReadableError）"
        );
        assert_eq!(
            line(&ZH_CN, &entry(BrowserCall::Send)).text,
            "浏览器无法向桥接服务发送（NotReadableError）"
        );
        assert_eq!(
            line(&EN, &entry(BrowserCall::Send)).text,
            "the browser could not send to the bridge (NotReadableError)"
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn a_chinese_console_describes_errors_in_chinese_not_the_bridges_english() {
        let e = Entry {
            t_us: Some(1),
            called_us: None,
            began_before: false,
            proto: Some(Proto::Tcp),
            side: Side::Bridge,
            socket: Some(1),
            what: What::Error {
                failure: Failure {
                    code: protocol::ErrorCode::Os,
                    message: "connect() to 127.0.0.1:9 failed: Connection refused".into(),
                    errno: Some("ECONNREFUSED".into()),
                },
            },
        };
        assert_eq!(
            line(&ZH_CN, &e).text,
            "错误：ECONNREFUSED：连接被拒绝（connect() → 127.0.0.1:9）"
        );
        let en = line(&EN, &e).text;
        assert!(
            en.contains("Connection refused") && en.starts_with("error: ECONNREFUSED"),
            "{en}"
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn a_udp_send_says_there_is_no_connection() {
        let e = Entry {
            t_us: Some(1),
            called_us: None,
            began_before: false,
            socket: None,
            proto: Some(Proto::Udp),
            side: Side::Client,
            what: What::Sent {
                len: 0,
                data: Some(vec![]),
                from: "127.0.0.1:50000".parse().unwrap(),
                to: "127.0.0.1:8081".parse().unwrap(),
                connected: false,
            },
        };
        let l = line(&EN, &e);
        assert_eq!(l.text, "sendto() 0 B — no connection, no handshake");
        assert_eq!(l.payload.as_deref(), Some("\"\""));
        // A socket connect()ed first calls send(), and says what connecting a UDP socket means.
        let connected = Entry {
            what: What::Sent {
                len: 6,
                data: None,
                from: "127.0.0.1:50000".parse().unwrap(),
                to: "127.0.0.1:9".parse().unwrap(),
                connected: true,
            },
            ..e
        };
        assert_eq!(
            line(&EN, &connected).text,
            "send() 6 B — a connected UDP socket: no handshake, but only this peer"
        );
        assert!(line(&ZH_CN, &connected).text.starts_with("send() 6 B — "));
    }
}
