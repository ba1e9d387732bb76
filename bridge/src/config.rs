//! The command line (`bridge --help`), turned into a [`Config`] by clap.
//!
//! Defaults are the tutorial's: the TCP echo server on 127.0.0.1:8080 and the UDP one on
//! 127.0.0.1:8081, so the tutorial's own Python clients work unchanged. Everything binds to
//! loopback unless you say otherwise, and every limit is small unless you raise it: looser is
//! always an explicit flag.

use clap::Parser;
use std::net::SocketAddr;

/// Socket Lab: real TCP and UDP echo servers, and a web console to watch them work.
#[derive(Debug, Clone, Parser)]
#[command(name = "bridge", version, about, long_about = None)]
pub struct Config {
    /// Address of the web page (`/`) and its WebSocket (`/ws`). Port 0 picks a free port.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8000")]
    pub http: SocketAddr,

    /// Address of the TCP echo server (the tutorial's: SO_REUSEADDR, recv(1024), replies with
    /// the bytes uppercased; listen(128) rather than its listen(5), so that a class connecting
    /// at once is not refused: the "One at a time" lab shows listen(5)). Port 0 picks a free
    /// port.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub tcp: SocketAddr,

    /// Address of the UDP echo server (recvfrom(1024), replies with the datagram uppercased).
    /// Port 0 picks a free port.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8081")]
    pub udp: SocketAddr,

    // (The inner `::std::option::Option`: a value that may be "off", to clap; the outer one: the
    // flag may be absent, then `Config::tcp6` gives the default.)
    /// The same TCP echo server over IPv6, side by side with the IPv4 one, or "off" [default:
    /// [::1] with --tcp's port, so that port 0 picks a free port here too]. Skipped with a note
    /// when the machine has no IPv6 loopback.
    #[arg(long, value_name = "ADDR|off", value_parser = optional_addr)]
    pub tcp6: Option<::std::option::Option<SocketAddr>>,

    /// The same UDP echo server over IPv6, or "off" [default: [::1] with --udp's port].
    #[arg(long, value_name = "ADDR|off", value_parser = optional_addr)]
    pub udp6: Option<::std::option::Option<SocketAddr>>,

    /// Also accept WebSockets from pages on this origin, e.g. https://tutorial.example
    /// (repeatable). Without it only the bridge's own page may connect.
    #[arg(long = "allow-origin", value_name = "URL", value_parser = origin)]
    pub allow_origin: Vec<String>,

    /// Also accept requests whose Host header is this name, e.g. lab.example.org when a reverse
    /// proxy forwards to the bridge (repeatable). Loopback names are always accepted; checking
    /// Host stops DNS-rebinding pages from reaching a bridge on your machine.
    #[arg(long = "allow-host", value_name = "HOST")]
    pub allow_host: Vec<String>,

    /// Largest payload of one send, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 64 * 1024, value_parser = at_least_one::<usize>)]
    pub max_message: usize,

    /// Most sockets (TCP and UDP together) one browser session may have open at once.
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = at_least_one::<usize>)]
    pub max_sockets: usize,

    /// Show every session the clients of the lab's servers that belong to no session (the
    /// tutorial's Python client, `nc` in a terminal) with their messages. For a lab on your own
    /// machine; off by default so that on a shared bridge a session sees only its own sockets.
    #[arg(long)]
    pub show_other_clients: bool,

    /// Do not capture packets (the wire view stays empty). Capture needs root or CAP_NET_RAW
    /// anyway; without them the bridge says so once and carries on.
    #[arg(long)]
    pub no_capture: bool,

    /// Do not offer impaired links (the "Lossy link" experiment's loss, delay, reordering and
    /// duplication). They need CAP_NET_ADMIN; without it the bridge says so once and carries on.
    #[arg(long)]
    pub no_impair: bool,

    /// Write the example tutorial as a static site into DIR (English at DIR/index.html, Chinese
    /// at DIR/zh-CN.html), with recordings made now on this machine's kernel, then exit. Any
    /// static file server serves it; each console plays its recording, labelled as one.
    #[arg(long, value_name = "DIR")]
    pub export_site: Option<std::path::PathBuf>,

    /// Most browser sessions (WebSockets) at once; more get HTTP 503. Lowered at start if the
    /// open-file limit cannot hold them (the banner says so).
    #[arg(long, value_name = "N", default_value_t = 64, value_parser = at_least_one::<usize>)]
    pub max_sessions: usize,

    /// Most sessions at once from one client address; more get HTTP 429. A tutorial page with
    /// several consoles opens one per console. Behind a reverse proxy every session comes from
    /// the proxy's address: see --trust-x-forwarded-for.
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = at_least_one::<usize>)]
    pub max_sessions_per_ip: usize,

    /// Behind a reverse proxy: take a client's address from the last entry of the
    /// X-Forwarded-For header the proxy adds (nginx: proxy_add_x_forwarded_for), for the
    /// per-address limits. Only with a proxy you run: anyone else can write that header.
    #[arg(long)]
    pub trust_x_forwarded_for: bool,

    /// Close a session whose console sent no command for this many seconds (its sockets and lab
    /// servers close with it; the console reconnects when the learner acts again).
    #[arg(long, value_name = "SECONDS", default_value_t = 900, value_parser = at_least_one::<u64>)]
    pub idle_timeout: u64,

    /// The echo servers (and lab servers) close a client connection that sends nothing for this
    /// many seconds, as real servers do, so forgotten connections do not hold places forever.
    #[arg(long, value_name = "SECONDS", default_value_t = 600, value_parser = at_least_one::<u64>)]
    pub client_idle_timeout: u64,

    /// Most clients of the TCP echo server at once that are no browser session's (the
    /// tutorial's Python client, nc, a relay): past it, a new one is closed at once. Sessions'
    /// own connections are bounded by their own limits and never wait behind these.
    #[arg(long, value_name = "N", default_value_t = 64)]
    pub max_other_clients: usize,
}

fn loopback6(port: u16) -> SocketAddr {
    SocketAddr::new(std::net::Ipv6Addr::LOCALHOST.into(), port)
}

/// A count or a time that must be at least 1: with 0 the bridge would refuse everyone, or close
/// every session the moment it opens.
fn at_least_one<T: std::str::FromStr + PartialOrd + From<u8>>(text: &str) -> Result<T, String> {
    match text.parse::<T>() {
        Ok(n) if n >= T::from(1) => Ok(n),
        Ok(_) => Err("must be at least 1".into()),
        Err(_) => Err(format!("{text:?} is not a whole number")),
    }
}

/// An origin as browsers send it: `scheme://host[:port]`, lowercase, without a default port
/// (browsers send `https://x.example`, never `https://x.example:443/`), so that it matches.
/// `null` is kept as it is: the explicit choice to admit pages with an opaque origin.
fn origin(text: &str) -> Result<String, String> {
    let lower = text.trim().trim_end_matches('/').to_ascii_lowercase();
    if lower == "null" {
        return Ok(lower);
    }
    let bad = || {
        format!(
            "{text:?} is not an origin: give scheme://host[:port], e.g. https://tutorial.example \
             (no path)"
        )
    };
    let (scheme, rest) = lower.split_once("://").ok_or_else(bad)?;
    if !matches!(scheme, "http" | "https") || rest.is_empty() || rest.contains(['/', '?', '#']) {
        return Err(bad());
    }
    Ok(crate::access::normalize_origin(&lower))
}

/// An address, or "off".
fn optional_addr(text: &str) -> Result<Option<SocketAddr>, String> {
    if text.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    text.parse()
        .map(Some)
        .map_err(|e| format!("{e} (an address like [::1]:8080, or off)"))
}

impl Config {
    /// The IPv6 TCP echo server's address, if it runs: `--tcp6`, else [::1] with `--tcp`'s port.
    pub fn tcp6(&self) -> ::std::option::Option<SocketAddr> {
        self.tcp6.unwrap_or(Some(loopback6(self.tcp.port())))
    }

    /// The IPv6 UDP echo server's address, if it runs: `--udp6`, else [::1] with `--udp`'s port.
    pub fn udp6(&self) -> ::std::option::Option<SocketAddr> {
        self.udp6.unwrap_or(Some(loopback6(self.udp.port())))
    }

    /// A configuration for tests: everything on loopback, every port picked by the kernel.
    pub fn ephemeral() -> Config {
        Config::parse_from([
            "bridge",
            "--http",
            "127.0.0.1:0",
            "--tcp",
            "127.0.0.1:0",
            "--udp",
            "127.0.0.1:0",
            "--tcp6",
            "[::1]:0",
            "--udp6",
            "[::1]:0",
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_tutorials_ports_on_loopback() {
        let c = Config::parse_from(["bridge"]);
        assert_eq!(c.http.to_string(), "127.0.0.1:8000");
        assert_eq!(c.tcp.to_string(), "127.0.0.1:8080");
        assert_eq!(c.udp.to_string(), "127.0.0.1:8081");
        assert_eq!(c.tcp6().unwrap().to_string(), "[::1]:8080");
        assert_eq!(c.udp6().unwrap().to_string(), "[::1]:8081");
        let off = Config::parse_from(["bridge", "--tcp6", "off", "--udp6", "OFF"]);
        assert_eq!((off.tcp6(), off.udp6()), (None, None));
        // Unless told otherwise, IPv6 follows the IPv4 ports: port 0 picks free ports for both.
        let free = Config::parse_from(["bridge", "--tcp", "127.0.0.1:0", "--udp", "127.0.0.1:9"]);
        assert_eq!(free.tcp6().unwrap().to_string(), "[::1]:0");
        assert_eq!(free.udp6().unwrap().to_string(), "[::1]:9");
        let given = Config::parse_from(["bridge", "--tcp", "127.0.0.1:0", "--tcp6", "[::1]:7"]);
        assert_eq!(given.tcp6().unwrap().to_string(), "[::1]:7");
        assert!(c.allow_origin.is_empty());
        assert_eq!(c.max_message, 65536);
        assert_eq!((c.max_sessions, c.max_sessions_per_ip), (64, 16));
        assert!(!c.trust_x_forwarded_for);
        assert_eq!(c.idle_timeout, 900);
    }

    #[test]
    fn allow_origin_is_repeatable() {
        let c = Config::parse_from([
            "bridge",
            "--allow-origin",
            "https://a.example",
            "--allow-origin",
            "http://b.example:8080",
        ]);
        assert_eq!(
            c.allow_origin,
            ["https://a.example", "http://b.example:8080"]
        );
    }

    #[test]
    fn a_bad_address_is_a_usage_error_not_a_panic() {
        let err = Config::try_parse_from(["bridge", "--tcp", "nowhere"]).unwrap_err();
        assert!(err.to_string().contains("--tcp"), "{err}");
    }
}
