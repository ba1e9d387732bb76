//! `/proc/net/tcp` and `/proc/net/tcp6`, parsed.
//!
//! One line per socket:
//! ```text
//!   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt ...
//!    1: 0100007F:BD58 0100007F:B173 06 00000000:00000000 03:00000048 00000000 ...
//! ```
//! Addresses are the raw bytes of the address printed as native-endian 32-bit hex words, then the
//! port in hex. `st` is the TCP state. For a LISTEN socket `rx_queue` is the number of
//! connections waiting in the accept queue (what `ss -lnt` shows as Recv-Q). `tr` says which
//! timer runs (3 = TIME_WAIT) and `tm->when` how long it has left, in clock ticks of 1/100 s.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// One socket of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Row {
    pub(crate) local: SocketAddr,
    pub(crate) remote: SocketAddr,
    pub(crate) state: u8,
    pub(crate) rx_queue: u32,
    /// Time left on the socket's timer, in ms, when one runs.
    pub(crate) timer_ms: Option<u64>,
}

pub(crate) const LISTEN: u8 = 0x0A;

/// The TCP state's name as the kernel calls it.
pub(crate) fn state_name(state: u8) -> &'static str {
    match state {
        0x01 => "ESTABLISHED",
        0x02 => "SYN_SENT",
        0x03 => "SYN_RECV",
        0x04 => "FIN_WAIT1",
        0x05 => "FIN_WAIT2",
        0x06 => "TIME_WAIT",
        0x07 => "CLOSE",
        0x08 => "CLOSE_WAIT",
        0x09 => "LAST_ACK",
        0x0A => "LISTEN",
        0x0B => "CLOSING",
        0x0C => "NEW_SYN_RECV",
        _ => "UNKNOWN",
    }
}

/// Every TCP socket of the machine's network namespace, IPv4 and IPv6.
pub(crate) fn read_all() -> io::Result<Vec<Row>> {
    let mut rows = parse(&std::fs::read_to_string("/proc/net/tcp")?);
    // IPv6 may be disabled; then the file does not exist.
    if let Ok(text) = std::fs::read_to_string("/proc/net/tcp6") {
        rows.extend(parse(&text));
    }
    Ok(rows)
}

/// Parses the table's text; lines that do not parse are skipped.
pub(crate) fn parse(text: &str) -> Vec<Row> {
    text.lines().skip(1).filter_map(parse_line).collect()
}

fn parse_line(line: &str) -> Option<Row> {
    let mut fields = line.split_whitespace();
    let _slot = fields.next()?;
    let local = parse_addr(fields.next()?)?;
    let remote = parse_addr(fields.next()?)?;
    let state = u8::from_str_radix(fields.next()?, 16).ok()?;
    let (_tx, rx) = fields.next()?.split_once(':')?;
    let rx_queue = u32::from_str_radix(rx, 16).ok()?;
    let (timer, when) = fields.next()?.split_once(':')?;
    let timer_ms = (u8::from_str_radix(timer, 16).ok()? != 0)
        .then(|| u64::from_str_radix(when, 16).ok().map(|ticks| ticks * 10))
        .flatten();
    Some(Row {
        local,
        remote,
        state,
        rx_queue,
        timer_ms,
    })
}

fn parse_addr(text: &str) -> Option<SocketAddr> {
    let (ip, port) = text.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let word = |i: usize| -> Option<[u8; 4]> {
        Some(
            u32::from_str_radix(ip.get(i * 8..i * 8 + 8)?, 16)
                .ok()?
                .to_ne_bytes(),
        )
    };
    let ip = match ip.len() {
        8 => IpAddr::V4(Ipv4Addr::from(word(0)?)),
        32 => {
            let mut bytes = [0u8; 16];
            for i in 0..4 {
                bytes[i * 4..i * 4 + 4].copy_from_slice(&word(i)?);
            }
            IpAddr::V6(Ipv6Addr::from(bytes))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    // A listener on 127.0.0.1:2024 with 6 connections waiting, and a TIME_WAIT with 0.72 s left.
    const SAMPLE: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:07E8 00000000:0000 0A 00000000:00000006 00:00000000 00000000     0        0 551 1 0 100 0 0 10 0
   1: 0100007F:BD58 0100007F:B173 06 00000000:00000000 03:00000048 00000000     0        0 0 3 0
garbage line
";

    #[test]
    fn parses_listen_queue_and_time_wait_rows() {
        if cfg!(target_endian = "big") {
            return; // the sample was captured on a little-endian machine
        }
        let rows = parse(SAMPLE);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].local, "127.0.0.1:2024".parse().unwrap());
        assert_eq!(
            (rows[0].state, rows[0].rx_queue, rows[0].timer_ms),
            (LISTEN, 6, None)
        );
        assert_eq!(state_name(rows[1].state), "TIME_WAIT");
        assert_eq!(rows[1].timer_ms, Some(720));
        assert_eq!(rows[1].remote, "127.0.0.1:45427".parse().unwrap());
    }

    #[test]
    fn finds_a_real_listener_and_its_accept_queue() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let _waiting = std::net::TcpStream::connect(addr).unwrap();
        let rows = read_all().unwrap();
        let me = rows
            .iter()
            .find(|r| r.local == addr && r.state == LISTEN)
            .unwrap();
        assert_eq!(
            me.rx_queue, 1,
            "one completed connection waits for accept()"
        );
    }
}
