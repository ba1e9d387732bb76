//! Turns an `io::Error` into the protocol's [`OsError`]: the errno, its C name and the text.
//!
//! Learners meet these names in man pages and in Python's `[Errno 111] Connection refused`, so
//! the console shows the name (`ECONNREFUSED`) next to the message.

use protocol::{ErrorCode, EventBody, OsError, SocketId};
use std::io;

/// The event for a failed socket call of socket `id`: what was tried, and what the kernel said.
pub(crate) fn failed(id: SocketId, what: impl std::fmt::Display, e: &io::Error) -> EventBody {
    EventBody::Error {
        id: Some(id),
        server: None,
        code: ErrorCode::Os,
        message: format!("{what}: {e}"),
        os: Some(os_error(e)),
    }
}

/// The event for a command socket `id` could not carry out, with the protocol's `code` and why.
pub(crate) fn refused(id: SocketId, code: ErrorCode, message: String) -> EventBody {
    EventBody::Error {
        id: Some(id),
        server: None,
        code,
        message,
        os: None,
    }
}

pub(crate) fn os_error(e: &io::Error) -> OsError {
    let errno = e.raw_os_error().unwrap_or(0);
    OsError {
        errno,
        name: errno_name(errno).unwrap_or("E?").to_string(),
        message: e.to_string(),
    }
}

/// The C name of the error numbers a socket program meets.
fn errno_name(errno: i32) -> Option<&'static str> {
    Some(match errno {
        libc::EPERM => "EPERM",
        libc::EINTR => "EINTR",
        libc::EAGAIN => "EAGAIN",
        libc::EACCES => "EACCES",
        libc::EINVAL => "EINVAL",
        libc::ENFILE => "ENFILE",
        libc::EMFILE => "EMFILE",
        libc::EPIPE => "EPIPE",
        libc::EMSGSIZE => "EMSGSIZE",
        libc::EADDRINUSE => "EADDRINUSE",
        libc::EADDRNOTAVAIL => "EADDRNOTAVAIL",
        libc::ENETUNREACH => "ENETUNREACH",
        libc::ECONNABORTED => "ECONNABORTED",
        libc::ECONNRESET => "ECONNRESET",
        libc::ENOBUFS => "ENOBUFS",
        libc::ENOTCONN => "ENOTCONN",
        libc::ETIMEDOUT => "ETIMEDOUT",
        libc::ECONNREFUSED => "ECONNREFUSED",
        libc::EHOSTUNREACH => "EHOSTUNREACH",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_errno_like_a_man_page() {
        let e = os_error(&io::Error::from_raw_os_error(libc::ECONNREFUSED));
        assert_eq!(e.errno, libc::ECONNREFUSED);
        assert_eq!(e.name, "ECONNREFUSED");
        assert!(e.message.contains("refused"), "{}", e.message);
    }
}
