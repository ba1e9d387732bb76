//! A session's private lab servers: real servers with the experiments' settings.
//!
//! The tutorial's servers on 8080/8081 are shared and stay exactly as the tutorial has them. An
//! experiment that needs a slow server, another buffer size, a one-client-at-a-time server or a
//! server it can restart gets its own here, on a loopback port the bridge picks; the browser
//! refers to it by a number. Everything stops when the session ends.
//!
//! While a TCP lab server runs, the session's [`KernelWatch`] reads its accept queue from the
//! kernel; the server's end of each of the session's connections to it is watched from the
//! client's side (see `watch.rs`), also after the server stops, because TIME_WAIT outlives it.

use super::watch::KernelWatch;
use crate::Shared;
use crate::echo;
use crate::impair::{self, LinkGuard};
use crate::os_error::os_error;
use crate::outbox::{Outbox, SessionGone};
use protocol::{ErrorCode, EventBody, LabSpec, ServerId, Transport};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Lab servers one session may have at once: the console's experiments use ten ids, one server
/// each (a listening socket and a task), so a learner who tries every tab still fits; no more,
/// so a session cannot hold many ports.
pub(crate) const MAX_LAB_SERVERS: usize = 10;

/// The bounds on a spec: anything else is refused with `bad_spec`.
const MAX_READ_DELAY_MS: u32 = 10_000;
const MAX_RECV_BUFFER: usize = 65_536;
const MAX_BACKLOG: u32 = 128;

/// A task that is aborted when this handle is dropped.
struct Owned(Option<JoinHandle<()>>);

impl Owned {
    fn spawn(task: impl Future<Output = ()> + Send + 'static) -> Owned {
        Owned(Some(tokio::spawn(task)))
    }

    /// Aborts the task and waits until it is gone, so that what it owned (a listening socket)
    /// is closed when this returns. Dropping only *requests* the abort.
    async fn stop(mut self) {
        if let Some(task) = self.0.take() {
            task.abort();
            let _ = task.await;
        }
    }
}

impl Drop for Owned {
    fn drop(&mut self) {
        if let Some(task) = &self.0 {
            task.abort();
        }
    }
}

struct LabServer {
    spec: LabSpec,
    addr: SocketAddr,
    /// The serving task and the way to order it to close its clients; `None` when stopped.
    running: Option<(Owned, watch::Sender<u64>)>,
    /// Its impaired link, while it runs: dropping it removes the kernel's rules.
    link: Option<LinkGuard>,
}

pub(crate) struct LabServers {
    shared: Arc<Shared>,
    outbox: Arc<Outbox>,
    kernel: KernelWatch,
    servers: HashMap<ServerId, LabServer>,
}

/// Why a lab server command could not be carried out, for the learner.
type Refusal = (ErrorCode, String);

impl LabServers {
    pub(crate) fn new(shared: Arc<Shared>, outbox: Arc<Outbox>, kernel: KernelWatch) -> LabServers {
        LabServers {
            shared,
            outbox,
            kernel,
            servers: HashMap::new(),
        }
    }

    /// Does any lab server run (and so hold descriptors)?
    pub(crate) fn any_running(&self) -> bool {
        self.servers.values().any(|s| s.running.is_some())
    }

    /// The address of lab server `server`, which must serve `transport`.
    pub(crate) fn addr(
        &self,
        server: ServerId,
        transport: Transport,
    ) -> Result<SocketAddr, Refusal> {
        match self.servers.get(&server) {
            Some(s) if s.spec.transport == transport => Ok(s.addr),
            Some(_) => Err((ErrorCode::UnknownServer, {
                // The wire's names (`"transport": "tcp"`), not Rust's.
                let name = match transport {
                    Transport::Tcp => "tcp",
                    Transport::Udp => "udp",
                };
                format!("lab server {server} does not serve {name}")
            })),
            None => Err((
                ErrorCode::UnknownServer,
                format!("there is no lab server {server}"),
            )),
        }
    }

    pub(crate) async fn start(
        &mut self,
        server: ServerId,
        spec: LabSpec,
    ) -> Result<(), SessionGone> {
        if let Err((code, message)) = self.check_new(server, &spec) {
            return self.error(server, code, message, None).await;
        }
        // An existing server with this id is replaced: an experiment changes its settings so.
        if let Some(old) = self.servers.remove(&server)
            && let Some((task, _)) = old.running
        {
            self.kernel.forget_listener(server);
            self.kernel.forget_link(server);
            task.stop().await;
        }
        // The loopback of the spec's family, on a port the bridge picks.
        let ip = super::sockets::loopback(spec.family);
        match self.bind(server, SocketAddr::new(ip, 0), &spec).await {
            Ok((addr, running)) => {
                // The link goes in before anyone knows the port: no packet passes unimpaired.
                let link = match self.link(server, addr, &spec).await {
                    Ok(link) => link,
                    Err((code, message)) => {
                        running.0.stop().await;
                        return self.error(server, code, message, None).await;
                    }
                };
                let lab = LabServer {
                    spec,
                    addr,
                    running: Some(running),
                    link,
                };
                self.servers.insert(server, lab);
                self.outbox
                    .push(EventBody::LabStarted { server, addr, spec })
                    .await
            }
            Err(e) => {
                let message = format!("could not start lab server {server}: {e}");
                self.error(server, ErrorCode::Os, message, Some(&e)).await
            }
        }
    }

    fn check_new(&self, server: ServerId, spec: &LabSpec) -> Result<(), Refusal> {
        if !self.servers.contains_key(&server) && self.servers.len() >= MAX_LAB_SERVERS {
            let message =
                format!("this session already has {MAX_LAB_SERVERS} lab servers (the limit)");
            return Err((ErrorCode::TooManyServers, message));
        }
        let bad = |what: String| Err((ErrorCode::BadSpec, what));
        if spec.read_delay_ms > MAX_READ_DELAY_MS {
            return bad(format!("read_delay_ms is at most {MAX_READ_DELAY_MS}"));
        }
        if !(1..=MAX_RECV_BUFFER).contains(&spec.recv_buffer) {
            return bad(format!("recv_buffer is 1 to {MAX_RECV_BUFFER} bytes"));
        }
        if spec.close_delay_ms > MAX_READ_DELAY_MS {
            return bad(format!("close_delay_ms is at most {MAX_READ_DELAY_MS}"));
        }
        if spec.backlog > MAX_BACKLOG {
            return bad(format!("backlog is at most {MAX_BACKLOG}"));
        }
        if let Some(i) = &spec.impair {
            impair::check(i).or_else(bad)?;
            if self.shared.impair.is_none() {
                let why = match &self.shared.impair_state {
                    protocol::ImpairState::NoPermission { hint } => hint.clone(),
                    protocol::ImpairState::Failed { message } => message.clone(),
                    protocol::ImpairState::Off => "the bridge runs with --no-impair".into(),
                    protocol::ImpairState::On { .. } => String::new(),
                };
                let message = format!("this bridge cannot impair a link: {why}");
                return Err((ErrorCode::ImpairUnavailable, message));
            }
        }
        Ok(())
    }

    /// Impairs the link to the lab server at `addr` if its spec asks for it.
    async fn link(
        &self,
        server: ServerId,
        addr: SocketAddr,
        spec: &LabSpec,
    ) -> Result<Option<LinkGuard>, Refusal> {
        let (Some(impair), Some(impairments)) = (spec.impair, &self.shared.impair) else {
            return Ok(None);
        };
        let guard = impairments
            .link(
                spec.family,
                spec.transport,
                addr.port(),
                impair,
                &self.outbox,
            )
            .await
            .map_err(|e| {
                let message = format!("could not impair the link to lab server {server}: {e}");
                (ErrorCode::ImpairUnavailable, message)
            })?;
        self.kernel.link(server, &guard.link);
        Ok(Some(guard))
    }

    /// Binds and starts serving at `addr` (port 0 = any); a TCP server's accept queue is
    /// watched while it runs.
    async fn bind(
        &self,
        server: ServerId,
        addr: SocketAddr,
        spec: &LabSpec,
    ) -> std::io::Result<(SocketAddr, (Owned, watch::Sender<u64>))> {
        let observers = self.shared.observers.clone();
        let (close, close_order) = watch::channel(0);
        let spec = *spec;
        match spec.transport {
            Transport::Tcp => {
                let listener = Arc::new(echo::tcp::bind(addr, &spec)?);
                let addr = listener.local_addr()?;
                self.kernel.listener(server, &listener);
                let policy = self.shared.client_policy;
                let serve = echo::tcp::serve(listener, observers, spec, policy, close_order);
                let task = Owned::spawn(serve);
                Ok((addr, (task, close)))
            }
            Transport::Udp => {
                let socket = tokio::net::UdpSocket::bind(addr).await?;
                // The kernel's default buffer: a slow lab server shows UDP's drops, counted.
                echo::udp::prepare(&socket, None)?;
                let addr = socket.local_addr()?;
                let task = Owned::spawn(echo::udp::serve(socket, observers, spec));
                Ok((addr, (task, close)))
            }
        }
    }

    /// Stops a lab server (the `lab_stop` command): its listener closes and its connections
    /// close server-first. Stopping one that is already stopped is an error that says so.
    pub(crate) async fn stop(&mut self, server: ServerId) -> Result<(), SessionGone> {
        match self.servers.get(&server).map(|lab| lab.running.is_some()) {
            Some(true) => self.halt(server).await,
            Some(false) => {
                let message = format!("lab server {server} is stopped already");
                self.error(server, ErrorCode::UnknownServer, message, None)
                    .await
            }
            None => self.unknown(server).await,
        }
    }

    /// Stops lab server `server` if it runs (a restart stops it first, whether it runs or not).
    async fn halt(&mut self, server: ServerId) -> Result<(), SessionGone> {
        let Some(lab) = self.servers.get_mut(&server) else {
            return self.unknown(server).await;
        };
        if let Some((task, _)) = lab.running.take() {
            self.kernel.forget_listener(server);
            task.stop().await;
            // The link goes with the server; the last counts were sent already or go now.
            if lab.link.take().is_some() {
                self.kernel.forget_link(server);
            }
            self.outbox.push(EventBody::LabStopped { server }).await?;
        }
        Ok(())
    }

    /// Stops the server if it runs, then binds its port again with or without `SO_REUSEADDR`.
    pub(crate) async fn restart(
        &mut self,
        server: ServerId,
        reuseaddr: bool,
    ) -> Result<(), SessionGone> {
        if !self.servers.contains_key(&server) {
            return self.unknown(server).await;
        }
        self.halt(server).await?;
        let (addr, mut spec) = {
            let lab = &self.servers[&server];
            (lab.addr, lab.spec)
        };
        spec.reuseaddr = reuseaddr;
        match self.bind(server, addr, &spec).await {
            Ok((_, running)) => {
                let link = match self.link(server, addr, &spec).await {
                    Ok(link) => link,
                    Err((code, message)) => {
                        running.0.stop().await;
                        return self.error(server, code, message, None).await;
                    }
                };
                let lab = self.servers.get_mut(&server).expect("checked above");
                lab.running = Some(running);
                lab.link = link;
                lab.spec = spec;
                self.outbox
                    .push(EventBody::LabStarted { server, addr, spec })
                    .await
            }
            Err(e) => {
                let option = if reuseaddr { "with" } else { "without" };
                let message = format!("bind() {addr} {option} SO_REUSEADDR failed: {e}");
                self.error(server, ErrorCode::Os, message, Some(&e)).await
            }
        }
    }

    /// Orders a running lab server to close every connection it has (the server closes first).
    pub(crate) async fn close_clients(&mut self, server: ServerId) -> Result<(), SessionGone> {
        match self.servers.get(&server).map(|lab| &lab.running) {
            Some(Some((_, close))) => {
                close.send_modify(|n| *n += 1);
                Ok(())
            }
            Some(None) => {
                let message = format!("lab server {server} is stopped");
                self.error(server, ErrorCode::UnknownServer, message, None)
                    .await
            }
            None => self.unknown(server).await,
        }
    }

    async fn unknown(&self, server: ServerId) -> Result<(), SessionGone> {
        let message = format!("there is no lab server {server}");
        self.error(server, ErrorCode::UnknownServer, message, None)
            .await
    }

    async fn error(
        &self,
        server: ServerId,
        code: ErrorCode,
        message: String,
        os: Option<&std::io::Error>,
    ) -> Result<(), SessionGone> {
        let os = os.map(os_error);
        self.outbox
            .push(EventBody::Error {
                id: None,
                server: Some(server),
                code,
                message,
                os,
            })
            .await
    }
}
