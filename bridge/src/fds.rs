//! The file-descriptor budget: how many sessions and HTTP connections the bridge can hold without
//! ever running out of descriptors.
//!
//! Every socket is a file descriptor, and the process may hold `RLIMIT_NOFILE` of them. A service
//! started by systemd gets 1,024 by default (its *soft* limit; the *hard* limit, which a process
//! may raise itself to, is usually 524,288). Running out is not a local failure: `accept()` fails
//! for everyone, sessions cannot open sockets, the echo servers stop. So at start the bridge
//! raises its soft limit to the hard one, then *plans* with what it got: each session may use a
//! bounded number of descriptors (see [`per_session`]), a fixed number is reserved for the
//! bridge itself, and what is left bounds the HTTP connections (pages loading, WebSockets
//! opening). When the limit cannot hold `--max-sessions`, fewer sessions are allowed and the
//! banner says so, with the fix.

use std::io;

/// Descriptors the bridge holds whatever the sessions do: stdio (3), its three listening
/// sockets, the capture socket, tokio's epoll and wakers (~4), and the shared TCP echo server's
/// clients that belong to no session (`echo::tcp::MAX_OTHER_CLIENTS`), with room to spare.
pub(crate) const RESERVED: usize = 16 + crate::echo::tcp::MAX_OTHER_CLIENTS;

/// HTTP connections that are not (yet) a session's WebSocket: page and asset loads, WebSocket
/// handshakes. 256 lets a class load the page at once; an idle one lasts at most the header
/// timeout. (Once upgraded, a connection is a session's and counted in [`per_session`].)
pub(crate) const PAGE_CONNECTIONS: usize = 256;

/// At least this many HTTP connections for pages, or the bridge is not usable at all.
const MIN_PAGE_CONNECTIONS: usize = 16;

/// The most descriptors one session can hold at once: its WebSocket, its client sockets
/// (`--max-sockets`, file transfers included), the server ends of those connections (the shared
/// echo server's or its lab servers' accepted sockets), its lab servers' own sockets, the
/// reserved "nobody" port and its `sock_diag` socket.
pub(crate) fn per_session(max_sockets: usize) -> usize {
    1 + max_sockets * 2 + crate::session::MAX_LAB_SERVERS + 2
}

/// How the descriptors are shared out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Budget {
    /// The soft limit after raising it.
    pub(crate) limit: u64,
    /// Sessions allowed at once (at most `--max-sessions`).
    pub(crate) sessions: usize,
    pub(crate) per_session: usize,
    /// HTTP connections allowed at once besides the sessions' WebSockets (page loads).
    pub(crate) http_connections: usize,
    /// `--max-sessions` had to be lowered to fit.
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

/// Shares `limit` descriptors out between `max_sessions` sessions of `max_sockets` each and
/// page loads. Errs when not even one session fits.
pub(crate) fn plan(limit: u64, max_sessions: usize, max_sockets: usize) -> Result<Budget, String> {
    let per_session = per_session(max_sockets);
    let usable = usize::try_from(limit)
        .unwrap_or(usize::MAX)
        .saturating_sub(RESERVED + MIN_PAGE_CONNECTIONS);
    let fit = usable / per_session;
    if fit == 0 {
        return Err(format!(
            "the open-file limit ({limit}) is too low for even one session ({per_session} \
             descriptors with --max-sockets {max_sockets}, plus {} for the bridge); raise it \
             (ulimit -n, or LimitNOFILE= in a systemd unit)",
            RESERVED + MIN_PAGE_CONNECTIONS
        ));
    }
    let sessions = max_sessions.min(fit);
    let left = usable - sessions * per_session + MIN_PAGE_CONNECTIONS;
    Ok(Budget {
        limit,
        sessions,
        per_session,
        http_connections: left.min(PAGE_CONNECTIONS),
        lowered_from: (sessions < max_sessions).then_some(max_sessions),
    })
}

impl std::fmt::Display for Budget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Budget {
            limit,
            sessions,
            per_session,
            http_connections,
            ..
        } = self;
        write!(
            f,
            "{limit} file descriptors: {sessions} sessions × up to {per_session}, \
             {http_connections} more HTTP connections, {RESERVED} for the bridge"
        )?;
        if let Some(asked) = self.lowered_from {
            write!(
                f,
                " (--max-sessions {asked} lowered to {sessions} to fit; raise the limit with \
                 ulimit -n or LimitNOFILE=)"
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generous_limit_keeps_every_session_and_caps_page_loads() {
        let b = plan(524_288, 64, 16).unwrap();
        assert_eq!((b.sessions, b.lowered_from), (64, None));
        assert_eq!(b.http_connections, PAGE_CONNECTIONS);
    }

    #[test]
    fn a_1024_descriptor_service_lowers_the_sessions_until_they_fit() {
        let b = plan(1024, 64, 16).unwrap();
        assert!(b.sessions < 64 && b.sessions > 0, "{b:?}");
        assert_eq!(b.lowered_from, Some(64));
        // The whole worst case fits in the limit.
        let worst = RESERVED + b.sessions * b.per_session + b.http_connections;
        assert!(worst <= 1024, "{worst} > 1024: {b:?}");
        assert!(b.to_string().contains("lowered to"), "{b}");
    }

    #[test]
    fn too_few_descriptors_for_one_session_is_a_clear_error() {
        let err = plan(64, 64, 16).unwrap_err();
        assert!(err.contains("LimitNOFILE"), "{err}");
    }

    #[test]
    fn raising_never_lowers_the_limit() {
        let before = {
            // SAFETY: plain data and a valid pointer.
            let mut l: libc::rlimit = unsafe { std::mem::zeroed() };
            assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut l) }, 0);
            l
        };
        let now = raise_limit().unwrap();
        assert!(now >= before.rlim_cur && now <= before.rlim_max);
    }
}
