//! The experiments' vocabulary: session-private lab servers, where a client socket goes, and
//! the kernel's view of a server's sockets.
//!
//! A lab server is a real server the bridge starts for one session, on a loopback port the
//! bridge picks, with settings the tutorial's default servers do not have (a read delay, another
//! buffer size, one client at a time, …). The browser still never names an address: it names
//! "the lab's echo server", "my lab server 3", or "a port where nobody listens".

use serde::{Deserialize, Serialize};
use std::net::SocketAddr;

/// A session's name for one of its lab servers (chosen by the console, like socket ids).
pub type ServerId = u32;

/// Where a client socket sends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// The lab's shared echo server for the protocol, over IPv4 (the tutorial's, 127.0.0.1 on
    /// 8080/8081).
    #[default]
    Echo,
    /// The same echo server over IPv6 (::1, the same ports).
    Echo6,
    /// One of this session's lab servers: `{"lab": 3}` (its spec says which family).
    Lab(ServerId),
    /// A loopback port the bridge reserved for this session, where nothing listens (IPv4).
    Nobody,
    /// The same over IPv6.
    Nobody6,
}

impl Target {
    /// The address family the target is reached over (`None` for a lab server: its spec says).
    pub fn family(self) -> Option<Family> {
        match self {
            Target::Echo | Target::Nobody => Some(Family::Ipv4),
            Target::Echo6 | Target::Nobody6 => Some(Family::Ipv6),
            Target::Lab(_) => None,
        }
    }
}

/// IPv4 or IPv6: every experiment runs over either, side by side.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    #[default]
    Ipv4,
    Ipv6,
}

impl Family {
    /// The largest UDP payload `sendto()` accepts: 65,535 − 20 (IPv4 header) − 8 (UDP) for
    /// IPv4; IPv6's payload length does not count its 40-byte header, so 65,535 − 8.
    pub fn max_udp_payload(self) -> usize {
        match self {
            Family::Ipv4 => 65_507,
            Family::Ipv6 => 65_527,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transport {
    Tcp,
    Udp,
}

/// How a lab server behaves. Every field but `transport` has the tutorial's value as default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabSpec {
    pub transport: Transport,
    /// Sleep this long before each `recv()` (a slow server: data piles up in the kernel).
    #[serde(default)]
    pub read_delay_ms: u32,
    /// The `recv()`/`recvfrom()` buffer size.
    #[serde(default = "tutorial_buffer")]
    pub recv_buffer: usize,
    /// TCP: serve one client at a time, like the tutorial's server (accept, serve until the
    /// client closes, then accept the next). Otherwise every client is served at once.
    #[serde(default)]
    pub one_at_a_time: bool,
    /// TCP: the `listen()` backlog.
    #[serde(default = "tutorial_backlog")]
    pub backlog: u32,
    /// TCP: set `SO_REUSEADDR` before `bind()`.
    #[serde(default = "yes")]
    pub reuseaddr: bool,
    /// TCP: how the server cuts its byte stream back into messages, if at all.
    #[serde(default)]
    pub framing: Framing,
    /// TCP: after `recv()` returns 0 (the client's FIN), wait this long before `close()`, so the
    /// teardown's four segments are apart (otherwise Linux sends its FIN with the ACK: three).
    #[serde(default)]
    pub close_delay_ms: u32,
    /// Listen on 127.0.0.1 (IPv4) or ::1 (IPv6).
    #[serde(default)]
    pub family: Family,
    /// A lossy link between this server and its clients: impairments applied by the kernel's
    /// packet path (nf_tables + NFQUEUE) to this server's traffic only, both directions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impair: Option<Impair>,
}

/// What the link to a lab server does to its packets. Every field defaults to 0 (a perfect
/// link); each applies to every packet, in both directions, independently.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Impair {
    /// The share of packets dropped, in percent (0–100).
    #[serde(default)]
    pub loss_pct: u8,
    /// How long every packet is held before it goes on, in ms.
    #[serde(default)]
    pub delay_ms: u32,
    /// A random extra of −jitter … +jitter ms on each packet's delay (never below 0).
    #[serde(default)]
    pub jitter_ms: u32,
    /// The share of packets held back longer (by the delay again, at least 10 ms), in percent,
    /// so that the packets after them overtake them.
    #[serde(default)]
    pub reorder_pct: u8,
    /// The share of packets sent twice, in percent.
    #[serde(default)]
    pub duplicate_pct: u8,
    /// Seeds the link's random choices: the same seed and the same traffic make the same
    /// choices (0 picks a seed). 32 bits, so that it survives JavaScript's numbers.
    #[serde(default)]
    pub seed: u32,
}

fn tutorial_buffer() -> usize {
    1024
}
fn tutorial_backlog() -> u32 {
    5
}
fn yes() -> bool {
    true
}

impl LabSpec {
    /// The tutorial's server for `transport`.
    pub fn tutorial(transport: Transport) -> LabSpec {
        LabSpec {
            transport,
            read_delay_ms: 0,
            recv_buffer: tutorial_buffer(),
            one_at_a_time: false,
            backlog: tutorial_backlog(),
            reuseaddr: true,
            framing: Framing::None,
            close_delay_ms: 0,
            family: Family::Ipv4,
            impair: None,
        }
    }
}

/// How messages are marked in a TCP byte stream (the fixes for "sticky packets").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Framing {
    /// Raw bytes: the receiver cannot tell where one message ended.
    #[default]
    None,
    /// Each message is preceded by its length as 4 bytes, big-endian (`struct.pack('>I', n)`).
    Length,
    /// Each message ends with a newline (`\n`); messages must not contain one.
    Delimiter,
}

/// One of a lab server's sockets as the kernel lists it (`/proc/net/tcp`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KernelSocket {
    pub local: SocketAddr,
    pub remote: SocketAddr,
    /// The kernel's state name: "ESTABLISHED", "TIME_WAIT", "FIN_WAIT2", …
    pub state: String,
    /// Time left on the socket's timer, in ms, when one runs (e.g. TIME_WAIT's ~60 s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timer_ms: Option<u64>,
}

/// A file for the "sending a file" experiment.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum FileSource {
    /// The bridge generates `size` bytes of text lines (so big files need no upload).
    Generated { size: u64 },
    /// The console uploads `size` bytes with `file_chunk` commands.
    Upload { name: String, size: u64 },
}

/// Progress counters of a file transfer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FileProgress {
    /// Bytes handed to `send()`/`sendto()`.
    pub bytes_sent: u64,
    /// Echoed bytes received back.
    pub bytes_echoed: u64,
    /// `send()` / `sendto()` calls.
    pub sends: u64,
    /// `recv()` / `recvfrom()` calls that returned data.
    pub recvs: u64,
    /// UDP: datagrams echoed back out of order.
    #[serde(default)]
    pub reordered: u64,
    /// UDP: datagrams echoed back shorter than sent.
    #[serde(default)]
    pub truncated: u64,
}

/// The result of a finished file transfer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileResult {
    pub progress: FileProgress,
    /// SHA-256 (hex) of the bytes sent, uppercased as the server does: what should come back.
    pub sha256_expected: String,
    /// SHA-256 (hex) of the bytes that came back (TCP), or of the datagrams received (UDP).
    pub sha256_echoed: String,
    /// UDP: datagrams sent but never echoed within the wait.
    #[serde(default)]
    pub lost: u64,
    /// UDP: the numbers (from 0) of the first datagrams that never came back, at most 20, in
    /// order; numbers past 65,535 are counted in `lost` but not listed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<u64>,
    /// TCP: the segments the kernel retransmitted during the transfer (`TCP_INFO`'s
    /// `total_retrans`), e.g. through a lossy link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retransmitted: Option<u32>,
    pub elapsed_us: u64,
    pub cancelled: bool,
}
