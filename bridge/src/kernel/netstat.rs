//! The kernel's own count of accept-queue overflows, from `/proc/net/netstat`.
//!
//! When a listening socket's accept queue is full, Linux drops the next SYN (or the final ACK)
//! and counts it: `TcpExt: ListenOverflows` (and `ListenDrops`, which includes them). The
//! counters are the network namespace's — every listener's — so the lab reports how much they
//! grew while one of its queues was full, and says so. Reading this small file is cheap (unlike
//! `/proc/net/tcp`, it walks no table).

/// `ListenOverflows` now, or `None` if the file cannot be read or lacks it.
pub(crate) fn listen_overflows() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/net/netstat").ok()?;
    find(&text, "TcpExt:", "ListenOverflows")
}

/// The value of `name` in the `prefix` lines of a netstat file (a line of names, then a line of
/// values).
fn find(text: &str, prefix: &str, name: &str) -> Option<u64> {
    let mut lines = text.lines().filter(|l| l.starts_with(prefix));
    let names = lines.next()?;
    let values = lines.next()?;
    let at = names.split_whitespace().position(|n| n == name)?;
    values.split_whitespace().nth(at)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_counter_by_name() {
        let text = "TcpExt: SyncookiesSent ListenOverflows ListenDrops\n\
                    TcpExt: 0 17 19\n\
                    IpExt: InNoRoutes\nIpExt: 0\n";
        assert_eq!(find(text, "TcpExt:", "ListenOverflows"), Some(17));
        assert_eq!(find(text, "TcpExt:", "Missing"), None);
        // And this machine has it.
        assert!(listen_overflows().is_some());
    }
}
