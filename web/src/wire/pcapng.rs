//! "Download .pcapng": the session's packets with the socket calls as packet comments, so that
//! Wireshark and `tshark` show each call beside the packet it belongs to.
//!
//! pcapng is a sequence of blocks, each `type, total length, body, total length` (little-endian
//! here, as the section header's byte-order magic says). This writes three kinds:
//! - a Section Header Block (type `0x0A0D0D0A`, magic `0x1A2B3C4D`, version 1.0), naming the
//!   application that wrote it (`shb_userappl`);
//! - one Interface Description Block (type 1): link type 1 (Ethernet, as loopback frames are),
//!   named `lo`, timestamps in microseconds (`if_tsresol` = 6);
//! - an Enhanced Packet Block (type 6) per packet, with an `opt_comment` for each call that
//!   belongs to it.
//!
//! Options are `code, length, value` padded to 4 bytes, ended by `opt_endofopt` (code 0).

use super::flow::Captured;

const SHB: u32 = 0x0A0D_0D0A;
const IDB: u32 = 1;
const EPB: u32 = 6;
const LINKTYPE_ETHERNET: u16 = 1;
const SNAPLEN: u32 = 262_144;
const OPT_COMMENT: u16 = 1;
const SHB_USERAPPL: u16 = 4;
const IF_NAME: u16 = 2;
const IF_TSRESOL: u16 = 9;

/// The pcapng file of `packets`; `epoch_us` (µs since the Unix epoch) is when the console's
/// clock started; `comments` are (index into `packets`, text), any number per packet.
pub(crate) fn write(epoch_us: u64, packets: &[&Captured], comments: &[(usize, String)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut body = Vec::new();
    body.extend_from_slice(&0x1A2B_3C4Du32.to_le_bytes());
    body.extend_from_slice(&1u16.to_le_bytes());
    body.extend_from_slice(&0u16.to_le_bytes());
    // Section length: not given.
    body.extend_from_slice(&u64::MAX.to_le_bytes());
    option(&mut body, SHB_USERAPPL, b"Socket Lab");
    end_options(&mut body);
    block(&mut out, SHB, &body);

    body.clear();
    body.extend_from_slice(&LINKTYPE_ETHERNET.to_le_bytes());
    body.extend_from_slice(&0u16.to_le_bytes());
    body.extend_from_slice(&SNAPLEN.to_le_bytes());
    option(&mut body, IF_NAME, b"lo");
    option(&mut body, IF_TSRESOL, &[6]);
    end_options(&mut body);
    block(&mut out, IDB, &body);

    for (i, p) in packets.iter().enumerate() {
        body.clear();
        let at = epoch_us + p.at_us;
        let len = p.frame.len() as u32;
        for word in [0, (at >> 32) as u32, at as u32, len, len] {
            body.extend_from_slice(&word.to_le_bytes());
        }
        body.extend_from_slice(&p.frame);
        pad(&mut body);
        let mut any = false;
        for (_, text) in comments.iter().filter(|(n, _)| *n == i) {
            option(&mut body, OPT_COMMENT, text.as_bytes());
            any = true;
        }
        if any {
            end_options(&mut body);
        }
        block(&mut out, EPB, &body);
    }
    out
}

fn block(out: &mut Vec<u8>, kind: u32, body: &[u8]) {
    let total = (12 + body.len()) as u32;
    out.extend_from_slice(&kind.to_le_bytes());
    out.extend_from_slice(&total.to_le_bytes());
    out.extend_from_slice(body);
    out.extend_from_slice(&total.to_le_bytes());
}

fn option(body: &mut Vec<u8>, code: u16, value: &[u8]) {
    // An option's length is a u16: a longer comment is cut (at a character boundary).
    let mut len = value.len().min(u16::MAX as usize - 3);
    while len < value.len() && (value[len] & 0xC0) == 0x80 {
        len -= 1;
    }
    body.extend_from_slice(&code.to_le_bytes());
    body.extend_from_slice(&(len as u16).to_le_bytes());
    body.extend_from_slice(&value[..len]);
    pad(body);
}

fn end_options(body: &mut Vec<u8>) {
    body.extend_from_slice(&[0; 4]);
}

fn pad(body: &mut Vec<u8>) {
    while !body.len().is_multiple_of(4) {
        body.push(0);
    }
}

/// How a call meets the wire, for [`packet_of`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Meets {
    /// It puts something on the wire: connect, send, sendto, close.
    Sends,
    /// It waits for a packet: accept (the handshake's last ACK), a recv that returned 0 (FIN).
    Waits,
    /// It waits for data: a recv or recvfrom that returned bytes.
    WaitsForData,
}

/// Which packet a call belongs to, by time (µs on the console's clock): a call that sends goes
/// with the first packet at or after the moment it was `entered`; one that waits, with the last
/// packet at or before it `returned` (the last one carrying data, for a read that returned
/// bytes: the kernel's ACK of it comes before the call returns, but is not what it waited for).
/// A call with no such packet goes with the nearest one. `at` lists the packets' times, sorted;
/// `data` says which carry a payload.
pub(crate) fn packet_of(
    at: &[u64],
    data: &[bool],
    entered: u64,
    returned: u64,
    meets: Meets,
) -> Option<usize> {
    if at.is_empty() {
        return None;
    }
    let sends = meets == Meets::Sends;
    let after = at.partition_point(|&t| t < entered);
    let mut before = at.partition_point(|&t| t <= returned).checked_sub(1);
    if meets == Meets::WaitsForData
        && let Some(b) = before
    {
        before = (0..=b)
            .rev()
            .find(|&i| data.get(i) == Some(&true))
            .or(before);
    }
    Some(match (sends, before) {
        (true, _) if after < at.len() => after,
        (false, Some(b)) => b,
        (_, Some(b)) => b,
        (_, None) => after.min(at.len() - 1),
    })
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::super::decode::{build, decode};
    use super::*;

    fn captured(at_us: u64, frame: Vec<u8>) -> Captured {
        Captured {
            number: at_us,
            at_us,
            socket: None,
            segment: decode(&frame),
            frame,
            other: None,
            lost: false,
        }
    }

    #[test]
    fn calls_go_with_the_packet_they_caused_or_waited_for() {
        let at = [100, 200, 300];
        let data = [false, true, false];
        let of = |entered, returned, meets| packet_of(&at, &data, entered, returned, meets);
        assert_eq!(
            of(150, 160, Meets::Sends),
            Some(1),
            "send → the next packet"
        );
        assert_eq!(
            of(150, 250, Meets::Waits),
            Some(1),
            "accept → the packet before it returned"
        );
        assert_eq!(
            of(150, 350, Meets::WaitsForData),
            Some(1),
            "recv → the data, not its ACK"
        );
        assert_eq!(of(150, 350, Meets::Waits), Some(2));
        assert_eq!(
            of(350, 360, Meets::Sends),
            Some(2),
            "nothing after: the nearest"
        );
        assert_eq!(
            of(10, 20, Meets::Waits),
            Some(0),
            "nothing before: the nearest"
        );
        assert_eq!(packet_of(&[], &[], 10, 20, Meets::Waits), None);
    }

    /// Read back by the reference: tshark (Debian's, installed by scripts/setup.sh) shows each
    /// comment on its packet, and the packets' times and bytes.
    #[test]
    fn tshark_reads_the_packets_and_shows_the_calls_as_comments() {
        let packets = [
            captured(1_000, build::tcp(50000, 8080, 1, None, "S", None, b"")),
            captured(2_500, build::udp(1, 2, b"hello")),
        ];
        let refs: Vec<&Captured> = packets.iter().collect();
        let comments = [
            (0, "client TCP connect() → 127.0.0.1:8080".to_string()),
            (1, "client UDP sendto() 5 B \"hello\"".to_string()),
            (1, "server UDP recvfrom(1024) → 5 B — 中文也行".to_string()),
        ];
        let file = write(1_700_000_000_000_000, &refs, &comments);
        let path = std::env::temp_dir().join(format!("socket-lab-{}.pcapng", std::process::id()));
        std::fs::write(&path, &file).unwrap();
        let out = std::process::Command::new("tshark")
            .args([
                "-r",
                path.to_str().unwrap(),
                "-T",
                "fields",
                "-E",
                "separator=|",
            ])
            .args([
                "-e",
                "frame.number",
                "-e",
                "frame.time_epoch",
                "-e",
                "frame.len",
                "-e",
                "frame.comment",
            ])
            .output()
            .expect("tshark (scripts/setup.sh installs it)");
        std::fs::remove_file(&path).ok();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split('|').collect()).collect();
        assert_eq!(rows.len(), 2, "{text}");
        assert_eq!(rows[0][0], "1");
        assert!(rows[0][1].starts_with("1700000000.001000"), "{text}");
        assert_eq!(rows[0][2], packets[0].frame.len().to_string());
        assert_eq!(rows[0][3], comments[0].1);
        assert!(rows[1][1].starts_with("1700000000.002500"), "{text}");
        // Both comments of the second packet, in order (tshark joins them with a comma).
        assert_eq!(rows[1][3], format!("{},{}", comments[1].1, comments[2].1));
    }
}
