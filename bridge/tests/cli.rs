//! The `bridge` binary as a person runs it: banner, port-in-use error, Ctrl-C.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

fn bridge() -> Command {
    Command::new(env!("CARGO_BIN_EXE_bridge"))
}

#[test]
fn a_port_in_use_is_a_one_line_error_naming_the_flag() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = bridge()
        .args([
            "--http",
            "127.0.0.1:0",
            "--udp",
            "127.0.0.1:0",
            "--tcp6",
            "[::1]:0",
            "--udp6",
            "[::1]:0",
            "--tcp",
            &addr,
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].starts_with(&format!("error: --tcp {addr}: ")),
        "{stderr}"
    );
    assert!(lines[0].to_lowercase().contains("in use"), "{stderr}");
    assert!(!stderr.contains("panicked"));
}

#[test]
fn prints_the_url_and_bound_addresses_and_stops_cleanly_on_ctrl_c() {
    let (mut child, banner) = common::spawn_with_banner(bridge().args([
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
    ]));
    assert!(banner.contains("Open http://127.0.0.1:"), "{banner}");
    assert!(
        !banner.contains(":0 "),
        "real ports are printed, not 0: {banner}"
    );
    assert!(banner.contains("TCP echo server: 127.0.0.1:"), "{banner}");
    // The banner's backlog is the one `--help` names for the shared server (it once said the
    // tutorial's listen(5) there while the server listened with 128).
    let help = bridge().arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    let tcp_help = help.split("--tcp <ADDR>").nth(1).unwrap();
    let tcp_help = tcp_help.split("--udp").next().unwrap();
    let listen = |text: &str| {
        let after = text.split("listen(").nth(1)?;
        Some(after.split(')').next()?.to_string())
    };
    assert_eq!(listen(tcp_help), listen(&banner), "{tcp_help}\n{banner}");
    // SAFETY: sending a signal to our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "bridge did not stop on Ctrl-C");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status}");
}

/// Bound to every interface (a class on a LAN), the banner says where learners open the lab
/// (the machine's own addresses, as `ip addr` lists them) and that anyone reaching it may.
#[test]
fn a_bridge_on_every_interface_says_where_learners_open_it() {
    // Every server on a free port, the web server on every interface.
    let mut args = common::FREE_PORTS;
    args[1] = "0.0.0.0:0";
    let (mut child, banner) = common::spawn_with_banner(bridge().args(args));
    // SAFETY: sending a signal to our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let _ = child.wait();
    assert!(
        banner.contains("anyone who can reach this machine"),
        "{banner}"
    );
    // Every non-loopback IPv4 address of the machine is offered (read independently here).
    let out = Command::new("hostname").arg("-I").output();
    if let Ok(out) = out {
        for ip in String::from_utf8_lossy(&out.stdout).split_whitespace() {
            if ip.parse::<std::net::Ipv4Addr>().is_ok() {
                assert!(
                    banner.contains(&format!("http://{ip}:")),
                    "{ip} in {banner}"
                );
            }
        }
    }
}
