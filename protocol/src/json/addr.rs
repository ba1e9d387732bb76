//! Socket addresses read from JSON text: `127.0.0.1:8080`, `[::1]:8080`, `[fe80::1%2]:8080`.
//!
//! The same texts `str::parse::<SocketAddr>` accepts (the tests below check both on the same
//! inputs), written out because the standard library's general address parser was 4.5 KB of the
//! console's WebAssembly — more than the rest of its JSON reader.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

/// `text` as a socket address, or `None`.
pub(crate) fn parse(text: &str) -> Option<SocketAddr> {
    let b = text.as_bytes();
    // The port follows the last colon; for IPv6 that colon follows the closing bracket.
    let colon = b.iter().rposition(|&c| c == b':')?;
    let port = number(&b[colon + 1..], 65535, true)? as u16;
    let host = &b[..colon];
    if let [b'[', inside @ .., b']'] = host {
        let (ip, scope) = match inside.iter().position(|&c| c == b'%') {
            Some(at) => (
                &inside[..at],
                number(&inside[at + 1..], u32::MAX.into(), true)?,
            ),
            None => (inside, 0),
        };
        Some(SocketAddrV6::new(ipv6(ip)?, port, 0, scope as u32).into())
    } else {
        Some(SocketAddrV4::new(ipv4(host)?, port).into())
    }
}

/// A decimal number of at most `max`, digits only (no sign); leading zeros only where
/// `zeros` (ports and scope ids take them, IPv4 parts do not).
fn number(text: &[u8], max: u64, zeros: bool) -> Option<u64> {
    if text.is_empty() || (!zeros && text.len() > 1 && text[0] == b'0') {
        return None;
    }
    let mut n = 0u64;
    for &b in text {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n * 10 + u64::from(b - b'0');
        if n > max {
            return None;
        }
    }
    Some(n)
}

/// Dotted-quad IPv4: four decimal parts of at most 255, without leading zeros.
fn ipv4(text: &[u8]) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut parts = text.split(|&c| c == b'.');
    for octet in &mut octets {
        *octet = number(parts.next()?, 255, false)? as u8;
    }
    parts.next().is_none().then_some(Ipv4Addr::from(octets))
}

/// IPv6: up to eight groups of 1–4 hex digits, at most one `::` standing for at least one group
/// of zeros, and optionally a dotted IPv4 address as the last two groups.
fn ipv6(text: &[u8]) -> Option<Ipv6Addr> {
    let gap = text.windows(2).position(|w| w == b"::");
    let (head, tail) = match gap {
        Some(at) => (&text[..at], Some(&text[at + 2..])),
        None => (text, None),
    };
    let mut groups = [0u16; 8];
    // A dotted IPv4 part may only end the address.
    let front = groups_of(head, &mut groups, tail.is_none())?;
    match tail {
        None if front == 8 => {}
        None => return None,
        Some(tail) => {
            let mut rest = [0u16; 8];
            let n = groups_of(tail, &mut rest, true)?;
            // "::" replaces at least one group.
            if front + n > 7 {
                return None;
            }
            groups[8 - n..].copy_from_slice(&rest[..n]);
        }
    }
    Some(Ipv6Addr::from(groups))
}

/// Reads colon-separated groups into `out`; returns how many (an IPv4 tail, allowed where `last`,
/// counts two).
fn groups_of(text: &[u8], out: &mut [u16; 8], last: bool) -> Option<usize> {
    if text.is_empty() {
        return Some(0);
    }
    let mut n = 0;
    let mut parts = text.split(|&c| c == b':').peekable();
    while let Some(part) = parts.next() {
        if last && parts.peek().is_none() && part.contains(&b'.') {
            let [a, b, c, d] = ipv4(part)?.octets();
            if n > 6 {
                return None;
            }
            out[n] = u16::from_be_bytes([a, b]);
            out[n + 1] = u16::from_be_bytes([c, d]);
            return Some(n + 2);
        }
        if part.is_empty() || part.len() > 4 || n == 8 {
            return None;
        }
        let mut group = 0u16;
        for &c in part {
            group = group << 4 | (c as char).to_digit(16)? as u16;
        }
        out[n] = group;
        n += 1;
    }
    Some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every text gets the answer the standard library's parser gives.
    #[test]
    fn agrees_with_the_standard_parser() {
        let texts = [
            "127.0.0.1:8080",
            "0.0.0.0:0",
            "255.255.255.255:65535",
            "10.1.2.3:65536",
            "256.1.1.1:80",
            "1.2.3:80",
            "1.2.3.4.5:80",
            "01.2.3.4:80",
            "1.2.3.4:080",
            "1.2.3.4:00000000000000000080",
            "1.2.3.4:99999999999999999999999",
            "1.2.3.4:",
            ":80",
            "1.2.3.4",
            "1.2.3.4:+80",
            "1.2.3.4:-1",
            " 1.2.3.4:80",
            "[::1]:8080",
            "[::]:0",
            "[::1]",
            "::1:8080",
            "[1:2:3:4:5:6:7:8]:1",
            "[1:2:3:4:5:6:7:8:9]:1",
            "[1:2:3:4:5:6:7::]:1",
            "[::2:3:4:5:6:7:8]:1",
            "[1::8]:1",
            "[1:2:3:4:5:6:7::8]:1",
            "[1:::2]:1",
            "[1::2::3]:1",
            "[12345::1]:1",
            "[+1::1]:1",
            "[g::1]:1",
            "[ABCD:ef01::1]:1",
            "[::ffff:1.2.3.4]:80",
            "[::1.2.3.4]:80",
            "[1:2:3:4:5:6:1.2.3.4]:80",
            "[1:2:3:4:5:6:7:1.2.3.4]:80",
            "[1.2.3.4::]:80",
            "[fe80::1%2]:8080",
            "[fe80::1%4294967295]:1",
            "[fe80::1%4294967296]:1",
            "[fe80::1%]:1",
            "[fe80::1%eth0]:1",
            "[::1]:65536",
            "[::1]8080",
            "",
        ];
        for text in texts {
            assert_eq!(parse(text), text.parse().ok(), "{text:?}");
        }
        // And what the bridge writes, written back.
        for addr in [
            "127.0.0.1:54321",
            "[::1]:8081",
            "[fe80::1%3]:9",
            "[::ffff:10.0.0.1]:1",
        ] {
            let a: SocketAddr = addr.parse().unwrap();
            assert_eq!(parse(&a.to_string()), Some(a));
        }
    }
}
