//! Bulk work runs at a lower priority, so that it never slows an interactive echo.
//!
//! A file transfer makes thousands of socket calls as fast as the kernel takes them (one
//! `send()` per line, like the tutorial's client); an echo makes four. When a class runs both on
//! one runtime, the echo's tasks wait in the same queue behind the transfers' (measured: 100
//! learners cycling through the experiments made another learner's echo wait 40–300 ms at p99,
//! with the echo server's `recv()` of it scheduled 42 ms after the data arrived). So the
//! transfers — the session's side and the echo server's side of their connections — run on a
//! runtime of their own whose threads have a lower OS priority (`nice` +[`NICE`]): the kernel
//! gives the interactive runtime the CPU first, and the transfers everything that is left.

use std::sync::OnceLock;

/// How much lower the bulk threads' priority is. +10 gives them about a tenth of the CPU's
/// weight of a normal thread when both want it, and all of it when nobody else does.
pub(crate) const NICE: libc::c_int = 10;

/// Threads of the bulk runtime: as many as the machine's cores, up to 4 (transfers are
/// system-call bound; more threads would only queue in the kernel).
const MAX_THREADS: usize = 4;

/// The bulk runtime, started on first use and kept for the life of the process (a runtime may
/// not be dropped from inside another one, and the bridge's lifetime is the process's).
pub(crate) fn handle() -> tokio::runtime::Handle {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            let threads = std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
                .min(MAX_THREADS);
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(threads)
                .thread_name("bulk")
                .on_thread_start(|| {
                    // SAFETY: plain syscalls on the calling thread (tid 0 = this thread).
                    let tid = unsafe { libc::syscall(libc::SYS_gettid) } as libc::id_t;
                    // Lowering one's own priority needs no privilege; failing is harmless.
                    unsafe { libc::setpriority(libc::PRIO_PROCESS, tid, NICE) };
                })
                .enable_all()
                .build()
                .expect("the bulk runtime starts")
        })
        .handle()
        .clone()
}

#[cfg(test)]
mod tests {
    #[test]
    fn bulk_threads_run_at_a_lower_priority() {
        let nice = super::handle()
            .block_on(async {
                tokio::spawn(async {
                    // SAFETY: plain syscalls about the calling thread.
                    let tid = unsafe { libc::syscall(libc::SYS_gettid) } as libc::id_t;
                    unsafe { libc::getpriority(libc::PRIO_PROCESS, tid) }
                })
                .await
            })
            .unwrap();
        assert!(nice >= super::NICE, "{nice}");
    }
}
