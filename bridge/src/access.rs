//! Who may use the bridge: the Host and Origin checks.
//!
//! - **Host** protects against DNS rebinding: a web page on `evil.example` can make its own name
//!   resolve to 127.0.0.1 and then talk to your local bridge "same-origin". Such requests carry
//!   `Host: evil.example`, so only loopback names, the bound address, IP literals (when bound to
//!   all interfaces) and names given with `--allow-host` are served.
//! - **Origin** protects the WebSocket: browsers let any page open a WebSocket to any address,
//!   but they always say which page it is. Only the bridge's own page (and `--allow-origin`
//!   origins, for tutorials that embed the console) may open `/ws`; others get HTTP 403.
//!   A request with no Origin at all does not come from a browser page; such a program could
//!   reach the echo servers directly anyway, so it is let in (handy for `websocat`).

use crate::Config;
use std::net::{IpAddr, SocketAddr};

pub(crate) struct Access {
    hosts: Vec<String>,
    /// Bound to all interfaces: any IP literal is a legitimate Host.
    any_ip_host: bool,
    origins: Vec<String>,
}

impl Access {
    pub(crate) fn new(config: &Config, bound: SocketAddr) -> Access {
        let port = bound.port();
        let mut hosts = vec![
            format!("localhost:{port}"),
            format!("127.0.0.1:{port}"),
            format!("[::1]:{port}"),
            bound.to_string(),
        ];
        // On HTTP's own port, browsers and curl leave the port out of Host: `localhost`.
        if port == 80 {
            let ip = match bound.ip() {
                IpAddr::V6(ip) => format!("[{ip}]"),
                ip => ip.to_string(),
            };
            hosts.extend(["localhost".into(), "127.0.0.1".into(), "[::1]".into(), ip]);
        }
        hosts.extend(config.allow_host.iter().map(|h| h.to_ascii_lowercase()));
        Access {
            hosts,
            any_ip_host: bound.ip().is_unspecified(),
            origins: config
                .allow_origin
                .iter()
                .map(|o| normalize_origin(o))
                .collect(),
        }
    }

    /// Is this Host header one we serve?
    pub(crate) fn host_allowed(&self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        let name = strip_port(&host);
        self.hosts.iter().any(|h| *h == host || h == name)
            || (self.any_ip_host && name.trim_matches(['[', ']']).parse::<IpAddr>().is_ok())
    }

    /// May a page from `origin` open the WebSocket? `host` is the (already checked) Host header.
    pub(crate) fn origin_allowed(&self, origin: Option<&str>, host: &str) -> Result<(), String> {
        let Some(origin) = origin else { return Ok(()) };
        let origin = normalize_origin(origin);
        let host = host.to_ascii_lowercase();
        let own = [format!("http://{host}"), format!("https://{host}")];
        if own.contains(&origin) || self.origins.contains(&origin) {
            return Ok(());
        }
        if origin == "null" {
            return Err(
                "WebSocket refused: the page has no origin of its own (Origin: null: a \
                 sandboxed iframe, or a file opened from disk). Serve the page from a web server \
                 (python3 -m http.server will do) and start the bridge with --allow-origin and \
                 that server's origin. (--allow-origin null would admit every such page, from \
                 anywhere.)"
                    .into(),
            );
        }
        Err(format!(
            "WebSocket refused: pages from {origin} may not use this bridge. To embed the \
             console there, start the bridge with --allow-origin {origin}"
        ))
    }
}

/// An origin as browsers send it: lowercase, no trailing slash, no default port (so that an
/// `Origin: https://x.example:443` from a hand-made client matches `--allow-origin
/// https://x.example`, and the refusal's advice is a value that would admit it).
pub(crate) fn normalize_origin(origin: &str) -> String {
    let origin = origin.trim().trim_end_matches('/').to_ascii_lowercase();
    for (scheme, port) in [("http://", ":80"), ("https://", ":443")] {
        if origin.starts_with(scheme)
            && let Some(bare) = origin.strip_suffix(port)
        {
            return bare.to_string();
        }
    }
    origin
}

/// "name:port" → "name"; "[::1]:80" → "[::1]"; "name" → "name".
fn strip_port(host: &str) -> &str {
    match host.rfind(':') {
        Some(i) if !host[i..].contains(']') => &host[..i],
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn access(args: &[&str], bound: &str) -> Access {
        let config = Config::parse_from(std::iter::once("bridge").chain(args.iter().copied()));
        Access::new(&config, bound.parse().unwrap())
    }

    #[test]
    fn loopback_names_are_served_and_rebinding_names_are_not() {
        let a = access(&[], "127.0.0.1:8000");
        assert!(a.host_allowed("127.0.0.1:8000"));
        assert!(a.host_allowed("localhost:8000"));
        assert!(a.host_allowed("LOCALHOST:8000"));
        assert!(!a.host_allowed("evil.example:8000"));
        assert!(!a.host_allowed("localhost:9999"));
        assert!(!a.host_allowed("192.168.1.5:8000"));
    }

    #[test]
    fn allow_host_and_all_interfaces_widen_the_hosts() {
        let a = access(&["--allow-host", "lab.example.org"], "0.0.0.0:8000");
        assert!(a.host_allowed("lab.example.org"));
        assert!(a.host_allowed("192.168.1.5:8000"));
        assert!(a.host_allowed("[fe80::1]:8000"));
        assert!(!a.host_allowed("evil.example"));
    }

    #[test]
    fn only_the_own_origin_and_allowed_origins_may_open_the_websocket() {
        let a = access(
            &["--allow-origin", "https://Tutorial.example/"],
            "127.0.0.1:8000",
        );
        let host = "127.0.0.1:8000";
        assert!(
            a.origin_allowed(Some("http://127.0.0.1:8000"), host)
                .is_ok()
        );
        assert!(
            a.origin_allowed(Some("https://tutorial.example"), host)
                .is_ok()
        );
        assert!(a.origin_allowed(None, host).is_ok());
        let err = a
            .origin_allowed(Some("http://evil.example"), host)
            .unwrap_err();
        assert!(err.contains("--allow-origin http://evil.example"), "{err}");
        assert!(
            a.origin_allowed(Some("http://localhost:8000"), host)
                .is_err()
        );
        // An explicit default port is the same origin.
        assert!(
            a.origin_allowed(Some("https://tutorial.example:443"), host)
                .is_ok()
        );
        let err = a
            .origin_allowed(Some("http://evil.example:80"), host)
            .unwrap_err();
        assert!(err.ends_with("--allow-origin http://evil.example"), "{err}");
        let null = a.origin_allowed(Some("null"), host).unwrap_err();
        assert!(
            !null.contains("start the bridge with --allow-origin null"),
            "{null}"
        );
    }

    #[test]
    fn on_port_80_a_host_without_its_port_is_ours() {
        let a = access(&[], "127.0.0.1:80");
        assert!(a.host_allowed("localhost"));
        assert!(a.host_allowed("127.0.0.1"));
        assert!(a.host_allowed("localhost:80"));
        assert!(!a.host_allowed("evil.example"));
        let b = access(&[], "127.0.0.1:8000");
        assert!(
            !b.host_allowed("localhost"),
            "elsewhere the port must match"
        );
    }

    #[test]
    fn flags_that_would_shut_everyone_out_or_never_match_are_refused() {
        let parse = |args: &[&str]| {
            Config::try_parse_from(std::iter::once("bridge").chain(args.iter().copied()))
        };
        for flag in [
            "--idle-timeout",
            "--client-idle-timeout",
            "--max-sessions",
            "--max-sessions-per-ip",
            "--max-sockets",
            "--max-message",
        ] {
            let Err(err) = parse(&[flag, "0"]) else {
                panic!("{flag} 0 was accepted")
            };
            let err = err.to_string();
            assert!(err.contains("at least 1"), "{flag}: {err}");
            assert!(parse(&[flag, "1"]).is_ok(), "{flag}");
        }
        let config = parse(&["--allow-origin", "HTTPS://Tutorial.example:443/"]).unwrap();
        assert_eq!(config.allow_origin, ["https://tutorial.example"]);
        let config = parse(&["--allow-origin", "http://x.example:8080"]).unwrap();
        assert_eq!(config.allow_origin, ["http://x.example:8080"]);
        for bad in ["http://x.example/path", "x.example", "ftp://x.example"] {
            assert!(parse(&["--allow-origin", bad]).is_err(), "{bad}");
        }
    }
}
