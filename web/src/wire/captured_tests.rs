//! Decoding tests on bytes the kernel really sent: frames captured by the bridge on `lo` (a
//! connection to the TCP echo server, "hi" and its echo, then one UDP datagram "yo"), kept here
//! as hex so the analysis is tested on what Linux puts on the wire, options and all.

use super::decode::{Proto, decode};
use super::flow::{Captured, Note, Phase, arrows};
use wasm_bindgen_test::wasm_bindgen_test;

const FRAMES: [&str; 8] = [
    "00000000000000000000000008004500003cfead400040063e0c7f0000017f0000019eef806b8c8941ba00000000a002ffd7fe3000000204ffd70402080ab710bce2000000000103030a",
    "00000000000000000000000008004500003c0000400040063cba7f0000017f000001806b9eef4664de2c8c8941bba012ffcbfe3000000204ffd70402080a4988a2d6b710bce20103030a",
    "000000000000000000000000080045000034feae400040063e137f0000017f0000019eef806b8c8941bb4664de2d80100040fe2800000101080ab710bce24988a2d6",
    "000000000000000000000000080045000036feaf400040063e107f0000017f0000019eef806b8c8941bb4664de2d80180040fe2a00000101080ab710bce84988a2d66869",
    "00000000000000000000000008004500003471af40004006cb127f0000017f000001806b9eef4664de2d8c8941bd80100040fe2800000101080a4988a2dcb710bce8",
    "00000000000000000000000008004500003671b040004006cb0f7f0000017f000001806b9eef4664de2d8c8941bd80180040fe2a00000101080a4988a2dcb710bce84849",
    "000000000000000000000000080045000034feb0400040063e117f0000017f0000019eef806b8c8941bd4664de2f80100040fe2800000101080ab710bce84988a2dc",
    "00000000000000000000000008004500001ee6ce4000401155fe7f0000017f000001bda0b238000afe1d796f",
];

fn captured() -> Vec<Captured> {
    FRAMES
        .iter()
        .enumerate()
        .map(|(i, hex)| {
            let frame: Vec<u8> = (0..hex.len())
                .step_by(2)
                .map(|j| u8::from_str_radix(&hex[j..j + 2], 16).unwrap())
                .collect();
            Captured {
                number: i as u64,
                at_us: i as u64,
                socket: Some(1),
                segment: decode(&frame),
                other: None,
                frame,
                lost: false,
            }
        })
        .collect()
}

#[wasm_bindgen_test(unsupported = test)]
fn a_real_linux_handshake_decodes_with_its_options() {
    let packets = captured();
    let syn = packets[0].segment.as_ref().unwrap();
    assert_eq!(syn.flags.name(), "SYN");
    assert_eq!(
        syn.wscale,
        Some(10),
        "this Linux offered window scale 10 (2^10)"
    );
    let a = arrows(&packets);
    let labels: Vec<&str> = a.iter().map(|a| a.label.as_str()).collect();
    assert_eq!(
        labels,
        [
            "SYN", "SYN-ACK", "ACK", "PSH-ACK", "ACK", "PSH-ACK", "ACK", "UDP"
        ]
    );
    assert_eq!(a[1].note, Some(Note::AckIsSeqPlusOne));
    assert_eq!(a[2].note, Some(Note::AckIsSeqPlusOne));
    assert_eq!(
        (a[0].phase, a[1].phase, a[2].phase),
        (
            Phase::Handshake(1),
            Phase::Handshake(2),
            Phase::Handshake(3)
        )
    );
    assert_eq!((a[3].seq(true), a[3].len, a[5].len), (1, 2, 2));
    assert_eq!(
        a[4].ack(true),
        Some(3),
        "the server acknowledges both bytes: next is 3"
    );
    // The raw window field is 64 after the handshake; scaled by 2^10 it is 65,536 bytes.
    assert_eq!(packets[2].segment.as_ref().unwrap().window, 64);
    assert_eq!(a[2].window, Some(64 << 10));
    assert_eq!((a[7].proto, a[7].phase), (Proto::Udp, Phase::Datagram));
    assert_eq!(packets[7].segment.as_ref().unwrap().payload, b"yo");
}
