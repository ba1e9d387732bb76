//! Socket Lab's bridge: real TCP and UDP echo servers, the web console, and the relay between.
//!
//! ```text
//! browser ──WebSocket /ws──▶ session ──client sockets──▶ TCP echo :8080 / UDP echo :8081
//!         ◀──── events ───── outbox ◀── observer registry ◀── each server call ──┘
//! ```
//!
//! - [`echo`]: the tutorial's servers, on real kernel sockets.
//! - [`session`]: one per WebSocket; opens client sockets to *those servers only* (the browser
//!   never names an address, so the bridge is never an open relay) and reports every call.
//! - [`observe`]: routes what a server did to the session that owns the client socket.
//! - [`http`]: the page at `/`, the WebSocket at `/ws`, and the Host/Origin checks.
//!
//! [`Lab::start`] binds everything and returns the addresses actually bound (port 0 allowed),
//! which is also how the tests start a private lab on free ports.

mod access;
mod assets;
mod backoff;
mod bulk;
mod capture;
mod clock;
mod config;
mod echo;
mod export;
mod fds;
mod http;
mod impair;
mod kernel;
mod observe;
mod os_error;
mod outbox;
mod ports;
mod refusals;
mod serve;
mod session;

pub use config::Config;
pub use export::{ExportError, export_site};

use observe::Observers;
use protocol::{CaptureState, ImpairState, LabSpec, Limits, Transport};
use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::watch;
use tokio::task::JoinSet;

/// What every session needs to know, shared read-only.
pub(crate) struct Shared {
    /// Where sessions connect for TCP: the echo server's address (loopback if it listens on all
    /// interfaces).
    pub(crate) tcp_target: SocketAddr,
    pub(crate) udp_target: SocketAddr,
    /// The same over IPv6, when the machine has it.
    pub(crate) tcp_target6: Option<SocketAddr>,
    pub(crate) udp_target6: Option<SocketAddr>,
    pub(crate) observers: Observers,
    pub(crate) limits: Limits,
    /// Whether live packets come, told to every session.
    pub(crate) capture: CaptureState,
    /// Whether lab servers can have an impaired link, told to every session.
    pub(crate) impair_state: ImpairState,
    pub(crate) impair: Option<Arc<impair::Impairments>>,
    /// "Linux 6.1.0-28-amd64": the kernel the sockets run on, told in the hello.
    pub(crate) kernel: String,
    /// How the TCP servers treat their clients (idle timeout, others' cap).
    pub(crate) client_policy: echo::tcp::Policy,
    /// The blocks of file descriptors for sessions running experiments (see `fds.rs`).
    pub(crate) blocks: Arc<tokio::sync::Semaphore>,
    pub(crate) max_blocks: usize,
}

/// A running lab. Dropping it stops everything.
pub struct Lab {
    http: SocketAddr,
    tcp: SocketAddr,
    udp: SocketAddr,
    tcp6: Option<SocketAddr>,
    udp6: Option<SocketAddr>,
    /// Why IPv6 is not served, when it is not.
    no_ipv6: Option<String>,
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
    tcp_echoes: Vec<tokio::task::AbortHandle>,
    web: tokio::task::JoinHandle<()>,
    capture: CaptureState,
    capture_task: Option<tokio::task::JoinHandle<()>>,
    impair_state: ImpairState,
    impair: Option<Arc<impair::Impairments>>,
    impair_task: Option<tokio::task::JoinHandle<()>>,
    budget: fds::Budget,
    udp_rcvbuf: usize,
}

/// Why the lab could not start: which flag's address, and what the kernel said.
#[derive(Debug)]
pub enum StartError {
    /// A flag's address could not be bound.
    Bind {
        flag: &'static str,
        addr: SocketAddr,
        source: io::Error,
    },
    /// The open-file limit is too low for the bridge.
    Descriptors(String),
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (flag, addr, source) = match self {
            Self::Bind { flag, addr, source } => (flag, addr, source),
            Self::Descriptors(why) => return f.write_str(why),
        };
        write!(f, "{flag} {addr}: {source}")?;
        if source.kind() == io::ErrorKind::AddrInUse {
            write!(
                f,
                " (another program, maybe another Socket Lab, uses it; choose another address \
                 with {flag})"
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for StartError {}

impl Lab {
    /// Binds the echo servers and the web server, and starts serving.
    pub async fn start(config: Config) -> Result<Lab, StartError> {
        let fail = |flag, addr| move |source| StartError::Bind { flag, addr, source };
        // Every socket is a descriptor: take what the system allows and share it out so that
        // no number of sessions or connections can exhaust it.
        let limit = fds::raise_limit().unwrap_or(1024);
        let budget = fds::plan(
            limit,
            config.max_sessions,
            config.max_sockets,
            config.max_other_clients,
        )
        .map_err(StartError::Descriptors)?;
        // The tutorial's server, with one difference a class needs: its accept queue. With
        // listen(5), a class connecting in the same second overflows it and the kernel drops
        // or resets connections; the tutorial's listen(5) is shown by the "One at a time" lab.
        let tcp_spec = LabSpec {
            backlog: echo::tcp::SHARED_BACKLOG,
            ..LabSpec::tutorial(Transport::Tcp)
        };
        let tcp_listener =
            echo::tcp::bind(config.tcp, &tcp_spec).map_err(fail("--tcp", config.tcp))?;
        let udp_socket = UdpSocket::bind(config.udp)
            .await
            .map_err(fail("--udp", config.udp))?;
        let udp_rcvbuf = echo::udp::prepare(&udp_socket, Some(echo::udp::SHARED_RCVBUF))
            .map_err(fail("--udp", config.udp))?;
        // The same servers over IPv6, side by side. A machine without an IPv6 loopback keeps
        // IPv4 and says so; a port in use is an error like any other.
        let mut no_ipv6 = None;
        let mut v6 = |flag: &'static str,
                      addr: Option<SocketAddr>,
                      bind: &dyn Fn(SocketAddr) -> io::Result<V6>| {
            let addr = addr?;
            match bind(addr) {
                Ok(s) => Some(Ok(s)),
                Err(e) if e.kind() == io::ErrorKind::AddrInUse => Some(Err(fail(flag, addr)(e))),
                Err(e) => {
                    no_ipv6 = Some(format!("{flag} {addr}: {e}"));
                    None
                }
            }
        };
        let tcp6_listener = v6("--tcp6", config.tcp6(), &|a| {
            echo::tcp::bind(a, &tcp_spec).map(V6::Tcp)
        })
        .transpose()?
        .and_then(V6::tcp);
        let udp6_socket = v6("--udp6", config.udp6(), &|a| {
            let s = std::net::UdpSocket::bind(a)?;
            s.set_nonblocking(true)?;
            UdpSocket::from_std(s).map(V6::Udp)
        })
        .transpose()?
        .and_then(V6::udp);
        if let Some(s) = &udp6_socket {
            echo::udp::prepare(s, Some(echo::udp::SHARED_RCVBUF))
                .map_err(fail("--udp6", config.udp6().expect("bound")))?;
        }
        let tcp6 = tcp6_listener.as_ref().and_then(|l| l.local_addr().ok());
        let udp6 = udp6_socket.as_ref().and_then(|s| s.local_addr().ok());
        let http_listener = TcpListener::bind(config.http)
            .await
            .map_err(fail("--http", config.http))?;
        let local = |r: io::Result<SocketAddr>, flag, addr| r.map_err(fail(flag, addr));
        let tcp = local(tcp_listener.local_addr(), "--tcp", config.tcp)?;
        let udp = local(udp_socket.local_addr(), "--udp", config.udp)?;
        let http = local(http_listener.local_addr(), "--http", config.http)?;

        let observers = if config.show_other_clients {
            let mut servers = vec![
                (Transport::Tcp, reachable(tcp)),
                (Transport::Udp, reachable(udp)),
            ];
            servers.extend(tcp6.map(|a| (Transport::Tcp, reachable(a))));
            servers.extend(udp6.map(|a| (Transport::Udp, reachable(a))));
            Observers::showing_others(servers)
        } else {
            Observers::default()
        };
        let (capture, capture_task) = if config.no_capture {
            (CaptureState::Off, None)
        } else {
            capture::start(http.port(), observers.clone())
        };
        // The queue's number is the HTTP port: unique among bridges on this machine.
        let (impair_state, impair, impair_task) = if config.no_impair {
            (ImpairState::Off, None, None)
        } else {
            impair::Impairments::start(http.port())
        };
        let shared = Arc::new(Shared {
            capture: capture.clone(),
            impair_state: impair_state.clone(),
            impair: impair.clone(),
            kernel: kernel_name(),
            tcp_target: reachable(tcp),
            udp_target: reachable(udp),
            tcp_target6: tcp6.map(reachable),
            udp_target6: udp6.map(reachable),
            observers: observers.clone(),
            limits: Limits {
                max_message: config.max_message,
                max_sockets: config.max_sockets,
            },
            client_policy: echo::tcp::Policy {
                idle: std::time::Duration::from_secs(config.client_idle_timeout),
                max_others: config.max_other_clients,
            },
            blocks: Arc::new(tokio::sync::Semaphore::new(budget.active)),
            max_blocks: budget.active,
        });
        let (stop, stopped) = watch::channel(false);
        let state = http::AppState::new(
            shared.clone(),
            &config,
            http,
            budget.sessions,
            stopped.clone(),
        );
        let app = http::router(state);

        let mut tasks = JoinSet::new();
        // The shared servers are never ordered to close their clients: the sender stays here.
        let (never_close, close_order) = watch::channel(0);
        let policy = shared.client_policy;
        let mut tcp_echoes = vec![];
        for listener in std::iter::once(tcp_listener).chain(tcp6_listener) {
            let (observers, close_order) = (observers.clone(), close_order.clone());
            let listener = Arc::new(listener);
            let serve = echo::tcp::serve(listener, observers, tcp_spec, policy, close_order);
            tcp_echoes.push(tasks.spawn(serve));
        }
        tasks.spawn(async move {
            // The shared servers are never told to close their clients.
            let _keep = never_close;
            std::future::pending::<()>().await
        });
        let udp_spec = LabSpec::tutorial(Transport::Udp);
        for socket in std::iter::once(udp_socket).chain(udp6_socket) {
            tasks.spawn(echo::udp::serve(socket, shared.observers.clone(), udp_spec));
        }
        let limits = serve::Limits {
            connections: budget.http_connections,
            per_ip: (!config.trust_x_forwarded_for)
                .then_some(serve::CONNECTIONS_PER_IP.min(budget.http_connections.div_ceil(2))),
        };
        let web = tokio::spawn(serve::serve(http_listener, app, limits, stopped));
        Ok(Lab {
            http,
            tcp,
            udp,
            tcp6,
            udp6,
            no_ipv6,
            stop,
            tasks,
            tcp_echoes,
            web,
            capture,
            capture_task,
            impair_state,
            impair,
            impair_task,
            budget,
            udp_rcvbuf,
        })
    }

    /// The address the web server is bound to.
    pub fn http_addr(&self) -> SocketAddr {
        self.http
    }

    /// The address the TCP echo server is bound to.
    pub fn tcp_addr(&self) -> SocketAddr {
        self.tcp
    }

    /// The address the UDP echo server is bound to.
    pub fn udp_addr(&self) -> SocketAddr {
        self.udp
    }

    /// The address the IPv6 TCP echo server is bound to, if it runs.
    pub fn tcp6_addr(&self) -> Option<SocketAddr> {
        self.tcp6
    }

    /// The address the IPv6 UDP echo server is bound to, if it runs.
    pub fn udp6_addr(&self) -> Option<SocketAddr> {
        self.udp6
    }

    /// Stops the TCP echo servers (their ports close; connects are refused from now on), so
    /// that tests can show what a session sees when its server is dead.
    #[doc(hidden)]
    pub fn kill_tcp_echo(&self) {
        for echo in &self.tcp_echoes {
            echo.abort();
        }
    }

    /// The URL to open in a browser.
    pub fn url(&self) -> String {
        format!("http://{}/", reachable(self.http))
    }

    /// Tells the person at the terminal where everything is.
    pub fn print_banner(&self) {
        let (tcp, udp) = (self.tcp, self.udp);
        println!("Socket Lab is running.");
        println!("  Open {} in your browser.", self.url());
        // Bound beyond loopback (a class on a LAN): where learners open it, and that they can.
        if self.http.ip().is_unspecified() {
            let port = self.http.port();
            let others: Vec<String> = lan_addresses(self.http.is_ipv6())
                .into_iter()
                .map(|ip| format!("http://{}/", SocketAddr::new(ip, port)))
                .collect();
            if !others.is_empty() {
                println!("  Learners on your network open: {}", others.join("  "));
            }
            println!(
                "  Note: bound to every interface ({}): anyone who can reach this machine may use \
                 the lab; a name learners type needs --allow-host NAME",
                self.http
            );
        }
        println!(
            "  TCP echo server: {tcp} (SO_REUSEADDR, listen({}), recv(1024), echoes uppercased)",
            echo::tcp::SHARED_BACKLOG
        );
        // The size as the kernel accounts it (it doubles what is asked, for its bookkeeping).
        let rcvbuf = match self.udp_rcvbuf {
            n if n >= 1 << 20 => format!("{} MiB", n >> 20),
            n => format!("{} KiB", n >> 10),
        };
        println!(
            "  UDP echo server: {udp} (recvfrom(1024), echoes uppercased; receive buffer {rcvbuf})"
        );
        match (self.tcp6, self.udp6, &self.no_ipv6) {
            (Some(t), Some(u), _) => println!("  Over IPv6, the same servers: TCP {t}, UDP {u}"),
            (t, u, why) => {
                let served: Vec<String> = [("TCP", t), ("UDP", u)]
                    .iter()
                    .filter_map(|(k, a)| a.map(|a| format!("{k} {a}")))
                    .collect();
                if !served.is_empty() {
                    println!("  Over IPv6: {}", served.join(", "));
                }
                if let Some(why) = why {
                    println!("  IPv6: not served — {why}");
                }
            }
        }
        println!("  WebSocket: ws://{}/ws", reachable(self.http));
        match &self.capture {
            CaptureState::On => println!("  Live packets: captured on the loopback interface"),
            CaptureState::Off => println!("  Live packets: off (--no-capture)"),
            // Said once, clearly; everything else works without it.
            CaptureState::NoPermission { hint } => println!("  Live packets: off — {hint}"),
            CaptureState::Failed { message } => println!("  Live packets: off — {message}"),
        }
        match &self.impair_state() {
            ImpairState::On { .. } => {
                println!("  Lossy links: on (lab servers may lose, delay, reorder, duplicate)")
            }
            ImpairState::Off => println!("  Lossy links: off (--no-impair)"),
            ImpairState::NoPermission { hint } => println!("  Lossy links: off — {hint}"),
            ImpairState::Failed { message } => println!("  Lossy links: off — {message}"),
        }
        println!("  Capacity: {}", self.budget);
        println!(
            "Try it from a terminal too: nc {} {}   or   nc -u {} {}",
            tcp.ip(),
            tcp.port(),
            udp.ip(),
            udp.port()
        );
        println!("Press Ctrl-C to stop.");
    }

    /// Serves until `stop` resolves (see [`ctrl_c`]), then shuts down cleanly.
    pub async fn run_until(self, stop: impl Future<Output = ()>) {
        stop.await;
        println!("\nStopping Socket Lab.");
        self.shutdown().await;
    }

    /// Stops the web server (closing the WebSockets) and the echo servers.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        // Give open pages a moment to be told; then stop whatever is left.
        let graceful = std::time::Duration::from_secs(2);
        if tokio::time::timeout(graceful, &mut self.web).await.is_err() {
            self.web.abort();
        }
        self.tasks.shutdown().await;
        if let Some(impair) = self.impair.take() {
            let _ = tokio::task::spawn_blocking(move || impair.close()).await;
        }
    }

    /// Whether lab servers can have an impaired link on this bridge.
    pub fn impair_state(&self) -> ImpairState {
        self.impair_state.clone()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.web.abort();
        if let Some(task) = &self.capture_task {
            task.abort();
        }
        if let Some(task) = &self.impair_task {
            task.abort();
        }
        // The kernel's rules outlive the process: take them away (a restart would too).
        if let Some(impair) = &self.impair {
            impair.close();
        }
    }
}

/// Resolves on Ctrl-C (SIGINT) or SIGTERM. The handlers are installed when this is *called*,
/// not when it is first awaited: call it before telling anyone that the lab runs, or a quick
/// Ctrl-C would meet the default handler and kill the process uncleanly.
pub fn ctrl_c() -> io::Result<impl Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    })
}

/// A bound IPv6 echo socket (see `Lab::start`).
enum V6 {
    Tcp(TcpListener),
    Udp(UdpSocket),
}

impl V6 {
    fn tcp(self) -> Option<TcpListener> {
        match self {
            V6::Tcp(l) => Some(l),
            V6::Udp(_) => None,
        }
    }

    fn udp(self) -> Option<UdpSocket> {
        match self {
            V6::Udp(s) => Some(s),
            V6::Tcp(_) => None,
        }
    }
}

/// An address a client on this machine can connect to: a server bound to "all interfaces"
/// (0.0.0.0 or ::) is reached through loopback.
/// This machine's addresses other than loopback (IPv4; IPv6 too when `v6`), as `getifaddrs(3)`
/// lists them, for the banner of a bridge bound to every interface.
fn lan_addresses(v6: bool) -> Vec<IpAddr> {
    let mut found = vec![];
    let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `list` with a linked list we only read, then free once.
    if unsafe { libc::getifaddrs(&mut list) } != 0 {
        return found;
    }
    let mut next = list;
    while !next.is_null() {
        // SAFETY: a node of the list getifaddrs returned; its address, if any, is a sockaddr of
        // the family it names.
        let node = unsafe { &*next };
        next = node.ifa_next;
        if node.ifa_addr.is_null() {
            continue;
        }
        let ip = match i32::from(unsafe { (*node.ifa_addr).sa_family }) {
            libc::AF_INET => {
                let sin = unsafe { &*(node.ifa_addr as *const libc::sockaddr_in) };
                IpAddr::V4(Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr)))
            }
            libc::AF_INET6 if v6 => {
                let sin6 = unsafe { &*(node.ifa_addr as *const libc::sockaddr_in6) };
                let ip = Ipv6Addr::from(sin6.sin6_addr.s6_addr);
                // Link-local addresses need a zone in a URL; browsers cannot open those.
                if ip.is_unicast_link_local() {
                    continue;
                }
                IpAddr::V6(ip)
            }
            _ => continue,
        };
        if !ip.is_loopback() && !found.contains(&ip) {
            found.push(ip);
        }
    }
    // SAFETY: the list getifaddrs returned, freed once.
    unsafe { libc::freeifaddrs(list) };
    found
}

pub(crate) fn reachable(bound: SocketAddr) -> SocketAddr {
    match bound.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => (Ipv4Addr::LOCALHOST, bound.port()).into(),
        IpAddr::V6(ip) if ip.is_unspecified() => (Ipv6Addr::LOCALHOST, bound.port()).into(),
        _ => bound,
    }
}

/// The kernel's name and release, as `uname -sr` prints them ("Linux 6.1.0-28-amd64"), read
/// from `/proc` (the same strings `uname(2)` returns).
fn kernel_name() -> String {
    let read = |path: &str| std::fs::read_to_string(path).map(|s| s.trim().to_string());
    match (
        read("/proc/sys/kernel/ostype"),
        read("/proc/sys/kernel/osrelease"),
    ) {
        (Ok(name), Ok(release)) => format!("{name} {release}"),
        _ => String::new(),
    }
}
