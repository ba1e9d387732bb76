//! "Download .pcap": the session's packets as a classic pcap file, which Wireshark, tcpdump and
//! every pcap library open.
//!
//! The format is small: a 24-byte file header (magic 0xa1b2c3d4 for microsecond timestamps,
//! version 2.4, link type 1 = Ethernet, as loopback frames are), then for each packet a 16-byte
//! record header (seconds, microseconds, captured length, original length) and its bytes.

use super::flow::Captured;

const LINKTYPE_ETHERNET: u32 = 1;
const SNAPLEN: u32 = 262_144;

/// The pcap file of `packets`; `epoch_us` (µs since the Unix epoch) is when the console's clock,
/// which the packets' `at_us` count on, started.
pub(crate) fn write<'a>(epoch_us: u64, packets: impl IntoIterator<Item = &'a Captured>) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    for word in [0u32, 0, SNAPLEN, LINKTYPE_ETHERNET] {
        out.extend_from_slice(&word.to_le_bytes());
    }
    for p in packets {
        let at = epoch_us + p.at_us;
        let len = p.frame.len() as u32;
        for word in [(at / 1_000_000) as u32, (at % 1_000_000) as u32, len, len] {
            out.extend_from_slice(&word.to_le_bytes());
        }
        out.extend_from_slice(&p.frame);
    }
    out
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::super::decode::{build, decode};
    use super::*;

    #[test]
    fn a_pcap_reader_reads_back_every_packet_with_its_time() {
        let frames = [
            build::tcp(50000, 8080, 1, None, "S", None, b""),
            build::udp(1, 2, b"hello"),
        ];
        let packets: Vec<Captured> = frames
            .iter()
            .enumerate()
            .map(|(i, f)| Captured {
                number: i as u64,
                at_us: 1_500_000 * i as u64,
                socket: None,
                frame: f.clone(),
                segment: decode(f),
                other: None,
                lost: false,
            })
            .collect();
        let file = write(1_700_000_000_000_000, &packets);
        let mut reader = pcap_file::pcap::PcapReader::new(&file[..]).unwrap();
        assert_eq!(reader.header().datalink, pcap_file::DataLink::ETHERNET);
        let first = reader.next_packet().unwrap().unwrap();
        assert_eq!(first.data.as_ref(), &frames[0][..]);
        assert_eq!(first.timestamp.as_secs(), 1_700_000_000);
        let second = reader.next_packet().unwrap().unwrap();
        assert_eq!(second.data.as_ref(), &frames[1][..]);
        assert_eq!(second.timestamp.as_micros() % 1_000_000, 500_000);
        assert!(reader.next_packet().is_none());
    }
}
