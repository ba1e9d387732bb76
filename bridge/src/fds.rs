//! The file-descriptor budget: how many sessions, experiments and HTTP connections the bridge
//! can hold without ever running out of descriptors.
//!
//! Every socket is a file descriptor, and the process may hold `RLIMIT_NOFILE` of them. A service
//! started by systemd gets 1,024 by default (its *soft* limit; the *hard* limit, which a process
//! may raise itself to, is usually 524,288). Running out is not a local failure: `accept()` fails
//! for everyone, sessions cannot open sockets, the echo servers stop. So at start the bridge
//! raises its soft limit to the hard one, then *plans* with what it got:
//! - a fixed number for the bridge itself ([`RESERVED`]);
//! - one per session (its WebSocket): a reader with the page open costs that much;
//! - a **block** of [`per_active`] for each session that runs experiments — its worst case: all
//!   its client sockets, their server ends, its lab servers. A session takes its block when it
//!   opens its first socket or lab server and gives it back when it has none left open; while it
//!   holds it, nobody can take those descriptors away, so one learner's experiments never make
//!   another's fail. When every block is taken, a session asking for one gets `bridge_busy`;
//! - what is left bounds the HTTP connections that are not WebSockets (page loads).
//!
//! When the limit cannot hold `--max-sessions`, fewer are allowed and the banner says so, with
//! the fix.

use std::io;

/// Descriptors the bridge holds whatever the sessions do: stdio (3), its three listening
/// sockets, the capture socket, tokio's epoll and wakers (~4), with room to spare. The shared
/// TCP echo server's clients that belong to no session (`--max-other-clients`) come on top.
pub(crate) const RESERVED: usize = 16;

/// HTTP connections that are not (yet) a session's WebSocket: page and asset loads, WebSocket
/// handshakes. 256 lets a class load the page at once; an idle one lasts at most the header
/// timeout. (Once upgraded, a connection is a session's and counted as such.)
pub(crate) const PAGE_CONNECTIONS: usize = 256;

/// At least this many HTTP connections for pages, or the bridge is not usable at all.
const MIN_PAGE_CONNECTIONS: usize = 16;

/// The most descriptors a session running experiments can hold besides its WebSocket: its
/// client sockets (`--max-sockets`, file transfers included), the server ends of those
/// connections (the shared echo server's or its lab servers' accepted sockets), its lab
/// servers' own sockets, the reserved "nobody" port and its `sock_diag` socket.
pub(crate) fn per_active(max_sockets: usize) -> usize {
    max_sockets * 2 + crate::session::MAX_LAB_SERVERS + 2
}

/// How the descriptors are shared out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Budget {
    /// The soft limit after raising it.
    pub(crate) limit: u64,
    /// For the bridge itself and the echo server's other clients.
    pub(crate) reserved: usize,
    /// Sessions (WebSockets) allowed at once (at most `--max-sessions`).
    pub(crate) sessions: usize,
    /// Sessions that may run experiments at once, each holding a block of `per_active`.
    pub(crate) active: usize,
    pub(crate) per_active: usize,
    /// HTTP connections allowed at once besides the sessions' WebSockets (page loads).
    pub(crate) http_connections: usize,
    /// `--max-sessions`, when it had to be lowered to fit.
    pub(crate) lowered_from: Option<usize>,
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit; returns the soft limit now in force.
pub(crate) fn raise_limit() -> io::Result<u64> {
    // SAFETY: plain data.
    let mut limit: libc::rlimit = unsafe { std::mem::zeroed() };
    // SAFETY: a valid pointer to an rlimit.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    if limit.rlim_cur < limit.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: limit.rlim_max,
            rlim_max: limit.rlim_max,
        };
        // SAFETY: a valid pointer to an rlimit.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            return Ok(raised.rlim_cur);
        }
    }
    Ok(limit.rlim_cur)
}

/// Shares `limit` descriptors out between `max_sessions` sessions of `max_sockets` each, the
/// echo server's `others` clients that are no session's, and page loads. Errs when not even one
/// session can run an experiment.
pub(crate) fn plan(
    limit: u64,
    max_sessions: usize,
    max_sockets: usize,
    others: usize,
) -> Result<Budget, String> {
    let per_active = per_active(max_sockets);
    let reserved = RESERVED + others;
    let pool = usize::try_from(limit)
        .unwrap_or(usize::MAX)
        .saturating_sub(reserved + MIN_PAGE_CONNECTIONS);
    if pool < 1 + per_active {
        return Err(format!(
            "the open-file limit ({limit}) is too low for even one session ({} descriptors with \
             --max-sockets {max_sockets}, plus {} for the bridge); raise it (ulimit -n, or \
             LimitNOFILE= in a systemd unit)",
            1 + per_active,
            reserved + MIN_PAGE_CONNECTIONS
        ));
    }
    // Every session's WebSocket first (keeping room for one experiment), then as many blocks as
    // fit, at most one per session.
    let sessions = max_sessions.min(pool - per_active).max(1);
    let active = sessions.min((pool - sessions) / per_active);
    let left = pool - sessions - active * per_active;
    Ok(Budget {
        limit,
        reserved,
        sessions,
        active,
        per_active,
        http_connections: (left + MIN_PAGE_CONNECTIONS).min(PAGE_CONNECTIONS),
        lowered_from: (sessions < max_sessions).then_some(max_sessions),
    })
}

impl std::fmt::Display for Budget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Budget {
            limit,
            sessions,
            active,
            per_active,
            http_connections,
            reserved,
            ..
        } = self;
        write!(
            f,
            "{limit} file descriptors: {sessions} sessions, {active} of them running \
             experiments at once (up to {per_active} descriptors each), {http_connections} \
             more HTTP connections, {reserved} for the bridge and other clients"
        )?;
        if let Some(asked) = self.lowered_from {
            write!(f, "; --max-sessions {asked} lowered to {sessions} to fit")?;
        }
        if active < sessions {
            write!(f, "; raise the limit (ulimit -n, LimitNOFILE=) for more")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worst case of a plan: every session open, every block taken, every page slot used.
    fn worst(b: &Budget) -> usize {
        b.reserved + b.sessions + b.active * b.per_active + b.http_connections
    }

    #[test]
    fn a_generous_limit_lets_every_session_run_experiments() {
        let b = plan(524_288, 64, 16, 64).unwrap();
        assert_eq!((b.sessions, b.active, b.lowered_from), (64, 64, None));
        assert_eq!(b.http_connections, PAGE_CONNECTIONS);
        assert!(worst(&b) <= 524_288);
    }

    #[test]
    fn a_1024_descriptor_service_keeps_its_sessions_and_bounds_the_experiments() {
        let b = plan(1024, 64, 16, 64).unwrap();
        assert_eq!((b.sessions, b.lowered_from), (64, None), "{b:?}");
        assert!(b.active > 0 && b.active < 64, "{b:?}");
        assert!(worst(&b) <= 1024, "{} > 1024: {b:?}", worst(&b));
        assert!(b.to_string().contains("ulimit -n"), "{b}");
    }

    #[test]
    fn thousands_of_readers_cost_one_descriptor_each() {
        let b = plan(20_000, 10_200, 16, 64).unwrap();
        assert_eq!(b.sessions, 10_200);
        assert!(b.active > 100, "{b:?}");
        assert!(worst(&b) <= 20_000, "{b:?}");
    }

    #[test]
    fn too_few_descriptors_for_one_session_is_a_clear_error() {
        let err = plan(64, 64, 16, 64).unwrap_err();
        assert!(err.contains("LimitNOFILE"), "{err}");
        let b = plan(150, 64, 16, 64).unwrap();
        assert!(b.sessions >= 1 && b.active >= 1, "{b:?}");
        assert!(worst(&b) <= 150, "{b:?}");
    }

    #[test]
    fn raising_never_lowers_the_limit() {
        // SAFETY: plain data and a valid pointer.
        let mut before: libc::rlimit = unsafe { std::mem::zeroed() };
        assert_eq!(
            unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut before) },
            0
        );
        let now = raise_limit().unwrap();
        assert!(now >= before.rlim_cur && now <= before.rlim_max);
    }
}
