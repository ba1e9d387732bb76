//! The layer view: every header field of a real packet, where its bytes are, and what it means.
//!
//! This is the tutorial's OSI/TCP-IP layering on one packet: link (Ethernet) / network (IPv4 or
//! IPv6) / transport (TCP or UDP) / application data. Field positions come from the headers'
//! real lengths (IPv4's IHL, TCP's data offset), so options are found where they really are.

use crate::i18n::Wire;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Field {
    pub(crate) name: &'static str,
    pub(crate) value: String,
    pub(crate) note: &'static str,
    /// Byte range in the frame: `start..end`.
    pub(crate) start: usize,
    pub(crate) end: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Layer {
    pub(crate) name: &'static str,
    pub(crate) fields: Vec<Field>,
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn hex(b: &[u8]) -> String {
    b.iter()
        .map(|x| format!("{x:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The layers of an Ethernet frame; `None` if it is too short to be one.
pub(crate) fn layers(frame: &[u8], w: &Wire) -> Option<Vec<Layer>> {
    let f = |name, value: String, note, start: usize, end: usize| Field {
        name,
        value,
        note,
        start,
        end,
    };
    let mut out = vec![];
    let ethertype = be16(frame, 12)?;
    out.push(Layer {
        name: w.layer_link,
        fields: vec![
            f("destination", hex(frame.get(0..6)?), w.f_eth_dst, 0, 6),
            f("source", hex(frame.get(6..12)?), w.f_eth_src, 6, 12),
            f("type", format!("0x{ethertype:04x}"), w.f_eth_type, 12, 14),
        ],
    });
    let (proto, l4) = match ethertype {
        0x0800 => {
            let ip = 14;
            let ihl = usize::from(frame.get(ip)? & 0x0f) * 4;
            let proto = *frame.get(ip + 9)?;
            let addr = |at: usize| -> Option<String> {
                let b = frame.get(at..at + 4)?;
                Some(format!("{}.{}.{}.{}", b[0], b[1], b[2], b[3]))
            };
            out.push(Layer {
                name: w.layer_ipv4,
                fields: vec![
                    f(
                        "version, IHL",
                        format!("4, {ihl} B"),
                        w.f_ip_version,
                        ip,
                        ip + 1,
                    ),
                    f(
                        "DSCP/ECN",
                        format!("0x{:02x}", frame.get(ip + 1)?),
                        w.f_ip_tos,
                        ip + 1,
                        ip + 2,
                    ),
                    f(
                        "total length",
                        be16(frame, ip + 2)?.to_string(),
                        w.f_ip_len,
                        ip + 2,
                        ip + 4,
                    ),
                    f(
                        "identification",
                        be16(frame, ip + 4)?.to_string(),
                        w.f_ip_id,
                        ip + 4,
                        ip + 6,
                    ),
                    f(
                        "flags, fragment offset",
                        format!("0x{:04x}", be16(frame, ip + 6)?),
                        w.f_ip_frag,
                        ip + 6,
                        ip + 8,
                    ),
                    f(
                        "TTL",
                        frame.get(ip + 8)?.to_string(),
                        w.f_ip_ttl,
                        ip + 8,
                        ip + 9,
                    ),
                    f("protocol", proto.to_string(), w.f_ip_proto, ip + 9, ip + 10),
                    f(
                        "header checksum",
                        format!("0x{:04x}", be16(frame, ip + 10)?),
                        w.f_ip_sum,
                        ip + 10,
                        ip + 12,
                    ),
                    f("source", addr(ip + 12)?, w.f_ip_src, ip + 12, ip + 16),
                    f("destination", addr(ip + 16)?, w.f_ip_dst, ip + 16, ip + 20),
                ],
            });
            (proto, ip + ihl)
        }
        0x86dd => {
            let ip = 14;
            let addr = |at: usize| -> Option<String> {
                let b: [u8; 16] = frame.get(at..at + 16)?.try_into().ok()?;
                Some(std::net::Ipv6Addr::from(b).to_string())
            };
            let proto = *frame.get(ip + 6)?;
            out.push(Layer {
                name: w.layer_ipv6,
                fields: vec![
                    f(
                        "version, class, flow",
                        format!("0x{:08x}", be32(frame, ip)?),
                        w.f_ip6_first,
                        ip,
                        ip + 4,
                    ),
                    f(
                        "payload length",
                        be16(frame, ip + 4)?.to_string(),
                        w.f_ip6_len,
                        ip + 4,
                        ip + 6,
                    ),
                    f(
                        "next header",
                        proto.to_string(),
                        w.f_ip_proto,
                        ip + 6,
                        ip + 7,
                    ),
                    f(
                        "hop limit",
                        frame.get(ip + 7)?.to_string(),
                        w.f_ip_ttl,
                        ip + 7,
                        ip + 8,
                    ),
                    f("source", addr(ip + 8)?, w.f_ip_src, ip + 8, ip + 24),
                    f("destination", addr(ip + 24)?, w.f_ip_dst, ip + 24, ip + 40),
                ],
            });
            (proto, ip + 40)
        }
        _ => return Some(out),
    };
    let t = l4;
    let data_at = match proto {
        6 => {
            let off = usize::from(frame.get(t + 12)? >> 4) * 4;
            let flags = frame.get(t + 13)?;
            let names: Vec<&str> = [
                (0x02, "SYN"),
                (0x10, "ACK"),
                (0x08, "PSH"),
                (0x01, "FIN"),
                (0x04, "RST"),
                (0x20, "URG"),
            ]
            .into_iter()
            .filter(|(bit, _)| flags & bit != 0)
            .map(|(_, n)| n)
            .collect();
            let mut fields = vec![
                f(
                    "source port",
                    be16(frame, t)?.to_string(),
                    w.f_port_src,
                    t,
                    t + 2,
                ),
                f(
                    "destination port",
                    be16(frame, t + 2)?.to_string(),
                    w.f_port_dst,
                    t + 2,
                    t + 4,
                ),
                f(
                    "sequence number",
                    be32(frame, t + 4)?.to_string(),
                    w.f_tcp_seq,
                    t + 4,
                    t + 8,
                ),
                f(
                    "acknowledgment number",
                    be32(frame, t + 8)?.to_string(),
                    w.f_tcp_ack,
                    t + 8,
                    t + 12,
                ),
                f(
                    "header length, flags",
                    format!("{off} B, {}", names.join(" ")),
                    w.f_tcp_flags,
                    t + 12,
                    t + 14,
                ),
                f(
                    "window",
                    be16(frame, t + 14)?.to_string(),
                    w.f_tcp_window,
                    t + 14,
                    t + 16,
                ),
                f(
                    "checksum",
                    format!("0x{:04x}", be16(frame, t + 16)?),
                    w.f_sum,
                    t + 16,
                    t + 18,
                ),
                f(
                    "urgent pointer",
                    be16(frame, t + 18)?.to_string(),
                    w.f_tcp_urgent,
                    t + 18,
                    t + 20,
                ),
            ];
            if off > 20 {
                fields.push(f(
                    "options",
                    format!("{} B", off - 20),
                    w.f_tcp_options,
                    t + 20,
                    t + off,
                ));
            }
            out.push(Layer {
                name: w.layer_tcp,
                fields,
            });
            t + off
        }
        17 => {
            out.push(Layer {
                name: w.layer_udp,
                fields: vec![
                    f(
                        "source port",
                        be16(frame, t)?.to_string(),
                        w.f_port_src,
                        t,
                        t + 2,
                    ),
                    f(
                        "destination port",
                        be16(frame, t + 2)?.to_string(),
                        w.f_port_dst,
                        t + 2,
                        t + 4,
                    ),
                    f(
                        "length",
                        be16(frame, t + 4)?.to_string(),
                        w.f_udp_len,
                        t + 4,
                        t + 6,
                    ),
                    f(
                        "checksum",
                        format!("0x{:04x}", be16(frame, t + 6)?),
                        w.f_sum,
                        t + 6,
                        t + 8,
                    ),
                ],
            });
            t + 8
        }
        _ => return Some(out),
    };
    if data_at < frame.len() {
        let data = &frame[data_at..];
        out.push(Layer {
            name: w.layer_data,
            fields: vec![f(
                "data",
                crate::present::quote(data),
                w.f_data,
                data_at,
                frame.len(),
            )],
        });
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::super::decode::build;
    use super::*;
    use crate::i18n::EN;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test(unsupported = test)]
    fn every_field_of_a_tcp_packet_is_named_placed_and_explained() {
        let frame = build::tcp(50000, 8080, 1000, Some(7), "P", Some(7), b"hi");
        let layers = layers(&frame, EN.w).unwrap();
        let names: Vec<&str> = layers.iter().map(|l| l.name).collect();
        assert_eq!(
            names,
            [
                "Link (Ethernet)",
                "Network (IPv4)",
                "Transport (TCP)",
                "Application data"
            ]
        );
        let tcp = &layers[2];
        let seq = tcp
            .fields
            .iter()
            .find(|f| f.name == "sequence number")
            .unwrap();
        assert_eq!((seq.value.as_str(), seq.start, seq.end), ("1000", 38, 42));
        assert_eq!(
            be32(&frame, seq.start),
            Some(1000),
            "the range holds the value"
        );
        let flags = tcp
            .fields
            .iter()
            .find(|f| f.name == "header length, flags")
            .unwrap();
        assert!(flags.value.contains("ACK PSH"), "{}", flags.value);
        assert!(
            tcp.fields.iter().any(|f| f.name == "options"),
            "window scale is an option"
        );
        let data = &layers[3].fields[0];
        assert_eq!((data.value.as_str(), data.end), ("\"hi\"", frame.len()));
        // Fields cover the frame without overlapping, in order.
        let all: Vec<&Field> = layers.iter().flat_map(|l| &l.fields).collect();
        for pair in all.windows(2) {
            assert!(pair[0].end <= pair[1].start, "{pair:?}");
        }
        assert!(all.iter().all(|f| !f.note.is_empty()));
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn a_udp_datagram_has_four_header_fields() {
        let frame = build::udp(40000, 8081, b"");
        let layers = layers(&frame, EN.w).unwrap();
        assert_eq!(layers[2].name, "Transport (UDP)");
        assert_eq!(layers[2].fields.len(), 4);
        assert_eq!(layers.len(), 3, "no data, no data layer");
    }
}
