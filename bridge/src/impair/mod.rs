//! Impaired links: loss, delay, jitter, reordering and duplication on a lab server's packets,
//! applied on the kernel's own packet path, so the kernel's TCP reacts for real.
//!
//! A user-space proxy that "loses" bytes would not be loss: TCP would never see a gap and never
//! retransmit. Here the packets themselves are held or dropped between the sender's and the
//! receiver's kernel: nf_tables rules (`rules.rs`) send an impaired lab server's packets — and
//! nobody else's — to an NFQUEUE, and the bridge's verdicts (`queue.rs`) drop them, release them
//! later, or send them twice. This machine's kernel has no `sch_netem` (the usual tool), so this
//! is built from what it has: nf_tables, the xtables NFQUEUE target, and raw sockets.
//!
//! It needs `CAP_NET_ADMIN` (and `CAP_NET_RAW` for duplicates). Without it the hello says so,
//! with the `setcap` line, and everything else works.

mod netlink;
mod queue;
mod rules;

use crate::outbox::Outbox;
use protocol::{Family, Impair, ImpairState, LinkStats, Transport};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

/// The longest delay and jitter a link may have: enough to see TCP's timeout retransmissions
/// (its minimum RTO is 200 ms) and a wait a learner notices; more would hold many packets.
pub(crate) const MAX_DELAY_MS: u32 = 2_000;

/// A reordered packet is held back this much longer at least (or by the delay, if larger), so
/// that the packets after it overtake it.
const REORDER_HOLD: Duration = Duration::from_millis(10);

/// A lab server's port: (family, transport, port).
pub(crate) type Key = (Family, Transport, u16);

/// The impaired links by port, read by the queue for every packet.
#[derive(Default)]
pub(crate) struct Registry(Mutex<HashMap<Key, Arc<Link>>>);

impl Registry {
    fn find(&self, key: Key) -> Option<Arc<Link>> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
            .cloned()
    }
}

/// One impaired link: its settings, its random choices, and what it did.
pub(crate) struct Link {
    impair: Impair,
    state: Mutex<LinkState>,
    held: AtomicUsize,
    /// The session whose lab server this is: it is shown the packets the link drops.
    session: Weak<Outbox>,
}

struct LinkState {
    rng: SplitMix,
    stats: LinkStats,
}

/// What the link does to one packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Choice {
    pub(crate) drop: bool,
    /// How long to hold it back first.
    pub(crate) hold: Duration,
    pub(crate) duplicate: bool,
}

impl Link {
    pub(crate) fn new(impair: Impair, session: Weak<Outbox>) -> Link {
        let seed = match impair.seed {
            0 => u64::from(std::process::id()) ^ crate::clock::now(),
            s => u64::from(s),
        };
        Link {
            impair,
            state: Mutex::new(LinkState {
                rng: SplitMix(seed),
                stats: LinkStats::default(),
            }),
            held: AtomicUsize::new(0),
            session,
        }
    }

    /// Shows the session a packet the link dropped: the IP packet as the kernel queued it, with
    /// loopback's Ethernet header in front (zero addresses, the IP version's type), like every
    /// frame captured on `lo`.
    fn lost(&self, ip: &[u8]) {
        let Some(session) = self.session.upgrade() else {
            return;
        };
        let kind: u16 = if ip.first().is_some_and(|b| b >> 4 == 6) {
            0x86dd
        } else {
            0x0800
        };
        let mut frame = vec![0u8; 12];
        frame.extend_from_slice(&kind.to_be_bytes());
        frame.extend_from_slice(ip);
        session.try_push_lost(&frame, crate::clock::now());
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LinkState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Decides for the next packet (and counts it). The draws are made in a fixed order, so the
    /// same seed and the same packets make the same choices.
    pub(crate) fn choose(&self) -> Choice {
        let i = self.impair;
        let mut s = self.lock();
        s.stats.packets += 1;
        let drop = s.rng.percent(i.loss_pct);
        let jitter = if i.jitter_ms > 0 {
            s.rng.below(2 * u64::from(i.jitter_ms) + 1) as i64 - i64::from(i.jitter_ms)
        } else {
            0
        };
        let reorder = s.rng.percent(i.reorder_pct);
        let duplicate = s.rng.percent(i.duplicate_pct);
        if drop {
            s.stats.dropped += 1;
            return Choice {
                drop,
                hold: Duration::ZERO,
                duplicate: false,
            };
        }
        let mut hold = Duration::from_millis((i64::from(i.delay_ms) + jitter).max(0) as u64);
        if !hold.is_zero() {
            s.stats.delayed += 1;
        }
        if reorder {
            s.stats.reordered += 1;
            hold += REORDER_HOLD.max(Duration::from_millis(i.delay_ms.into()));
        }
        if duplicate {
            s.stats.duplicated += 1;
        }
        Choice {
            drop,
            hold,
            duplicate,
        }
    }

    /// Takes one of the link's places for a held packet; false when it has none left.
    fn hold(&self) -> bool {
        self.held
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                (n < queue::MAX_HELD_PER_LINK).then_some(n + 1)
            })
            .is_ok()
    }

    fn release(&self) {
        self.held.fetch_sub(1, Ordering::Relaxed);
    }

    /// A packet went on unimpaired because too many were held.
    fn overflowed(&self) {
        let mut s = self.lock();
        s.stats.overflow += 1;
        // It was counted as delayed (or reordered) when chosen; it was not.
        s.stats.delayed = s.stats.delayed.saturating_sub(1);
    }

    /// What the link did so far.
    pub(crate) fn stats(&self) -> LinkStats {
        self.lock().stats
    }
}

/// A small, seedable random number generator (SplitMix64): enough for a lab's coin flips, and
/// the same sequence for the same seed on every machine.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// True with probability `pct` percent.
    fn percent(&mut self, pct: u8) -> bool {
        pct > 0 && self.below(100) < u64::from(pct)
    }
}

/// The bridge's impairments: the rules, the queue, and the links.
pub(crate) struct Impairments {
    rules: Mutex<rules::Rules>,
    links: Arc<Registry>,
}

/// What a session holds for an impaired lab server: dropping it removes the rules and the link.
pub(crate) struct LinkGuard {
    impairments: Arc<Impairments>,
    key: Key,
    pub(crate) link: Arc<Link>,
}

impl Drop for LinkGuard {
    fn drop(&mut self) {
        let mut links = self
            .impairments
            .links
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if links
            .get(&self.key)
            .is_some_and(|l| Arc::ptr_eq(l, &self.link))
        {
            links.remove(&self.key);
        }
        drop(links);
        let (impairments, (family, transport, port)) = (self.impairments.clone(), self.key);
        // Rule changes are quick netlink calls, but calls all the same: not on a worker.
        let remove = move || {
            let mut rules = impairments.rules.lock().unwrap_or_else(|e| e.into_inner());
            if let Err(e) = rules.remove(family, transport, port) {
                tracing::warn!("removing the impairment rules of port {port}: {e}");
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => drop(rt.spawn_blocking(remove)),
            Err(_) => remove(),
        }
    }
}

/// The hint for a bridge without the privilege, naming this very binary.
fn hint() -> String {
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "target/debug/bridge".into());
    format!(
        "lossy links need the CAP_NET_ADMIN capability: run the bridge as root, or \
         `sudo setcap cap_net_raw,cap_net_admin+ep {exe}` and start it again (a rebuild drops \
         the capability)"
    )
}

impl Impairments {
    /// Sets up the bridge's tables and its queue (number `queue`: the HTTP port, unique per
    /// bridge on this machine); says what works.
    pub(crate) fn start(
        queue: u16,
    ) -> (
        ImpairState,
        Option<Arc<Impairments>>,
        Option<tokio::task::JoinHandle<()>>,
    ) {
        let failed = |e: std::io::Error, what: &str| {
            if e.kind() == std::io::ErrorKind::PermissionDenied {
                ImpairState::NoPermission { hint: hint() }
            } else {
                ImpairState::Failed {
                    message: format!("{what}: {e}"),
                }
            }
        };
        let mut rules = match rules::Rules::open(queue).and_then(|mut r| r.reset().map(|()| r)) {
            Ok(r) => r,
            Err(e) => return (failed(e, "nf_tables"), None, None),
        };
        // Try the one rule kind we need once, on a port nobody uses, so a kernel without the
        // NFQUEUE target says so now and not at a learner's first click.
        let probe = rules
            .add(Family::Ipv4, Transport::Udp, 0)
            .and_then(|()| rules.remove(Family::Ipv4, Transport::Udp, 0));
        if let Err(e) = probe {
            rules.delete_tables();
            return (failed(e, "the NFQUEUE target (xt_NFQUEUE)"), None, None);
        }
        let queue = match queue::Queue::open(queue) {
            Ok(q) => q,
            Err(e) => {
                rules.delete_tables();
                return (failed(e, "NFQUEUE"), None, None);
            }
        };
        let mut available = vec!["loss_pct", "delay_ms", "jitter_ms", "reorder_pct"];
        if queue.can_duplicate() {
            available.push("duplicate_pct");
        }
        let impairments = Arc::new(Impairments {
            rules: Mutex::new(rules),
            links: Arc::default(),
        });
        let task = tokio::spawn(queue.run(impairments.links.clone()));
        let state = ImpairState::On {
            available: available.into_iter().map(String::from).collect(),
        };
        (state, Some(impairments), Some(task))
    }

    /// Impairs the traffic of the lab server at `port` until the guard is dropped.
    pub(crate) async fn link(
        self: &Arc<Self>,
        family: Family,
        transport: Transport,
        port: u16,
        impair: Impair,
        session: &Arc<Outbox>,
    ) -> std::io::Result<LinkGuard> {
        let key = (family, transport, port);
        let link = Arc::new(Link::new(impair, Arc::downgrade(session)));
        // Registered before the rules exist, so the first queued packet finds its link.
        self.links
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, link.clone());
        let guard = LinkGuard {
            impairments: self.clone(),
            key,
            link,
        };
        let me = self.clone();
        let added = tokio::task::spawn_blocking(move || {
            let mut rules = me.rules.lock().unwrap_or_else(|e| e.into_inner());
            rules.add(family, transport, port)
        })
        .await
        .unwrap_or_else(|e| Err(std::io::Error::other(e)));
        // On failure the guard's drop unregisters the link (and removes whatever was added).
        added.map(|()| guard)
    }

    /// Deletes the bridge's tables (at shutdown).
    pub(crate) fn close(&self) {
        self.rules
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .delete_tables();
    }
}

/// Range checks for a spec's `impair`, with the message a learner sees.
pub(crate) fn check(i: &Impair) -> Result<(), String> {
    for (name, pct) in [
        ("loss_pct", i.loss_pct),
        ("reorder_pct", i.reorder_pct),
        ("duplicate_pct", i.duplicate_pct),
    ] {
        if pct > 100 {
            return Err(format!("impair.{name} is a percentage: 0 to 100"));
        }
    }
    for (name, ms) in [("delay_ms", i.delay_ms), ("jitter_ms", i.jitter_ms)] {
        if ms > MAX_DELAY_MS {
            return Err(format!("impair.{name} is at most {MAX_DELAY_MS}"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(impair: Impair) -> Link {
        Link::new(Impair { seed: 7, ..impair }, Weak::new())
    }

    #[test]
    fn the_same_seed_makes_the_same_choices_and_shares_come_out_near_their_percentages() {
        let impair = Impair {
            loss_pct: 20,
            delay_ms: 50,
            jitter_ms: 10,
            reorder_pct: 10,
            duplicate_pct: 5,
            seed: 7,
        };
        let (a, b) = (link(impair), link(impair));
        let choices: Vec<Choice> = (0..10_000).map(|_| a.choose()).collect();
        assert!(choices.iter().all(|&c| c == b.choose()), "repeatable");
        let stats = a.stats();
        assert_eq!(stats.packets, 10_000);
        assert!((1_800..2_200).contains(&stats.dropped), "{stats:?}");
        assert!((700..1_100).contains(&stats.reordered), "{stats:?}");
        assert!((300..700).contains(&stats.duplicated), "{stats:?}");
        for c in choices.iter().filter(|c| !c.drop) {
            // 50 ± 10 ms, and reordered ones 50 ms more.
            let ms = c.hold.as_millis();
            assert!((40..=60).contains(&ms) || (90..=110).contains(&ms), "{ms}");
        }
    }

    #[test]
    fn a_perfect_link_holds_nothing_and_reordering_alone_holds_some_back() {
        let perfect = link(Impair::default());
        assert!((0..100).all(|_| perfect.choose()
            == Choice {
                drop: false,
                hold: Duration::ZERO,
                duplicate: false
            }));
        let reorder = link(Impair {
            reorder_pct: 50,
            ..Impair::default()
        });
        let held = (0..1000)
            .filter(|_| reorder.choose().hold == REORDER_HOLD)
            .count();
        assert!((400..600).contains(&held), "{held}");
    }

    #[test]
    fn out_of_range_settings_are_refused_with_their_name() {
        assert!(check(&Impair::default()).is_ok());
        let bad = Impair {
            loss_pct: 101,
            ..Impair::default()
        };
        assert_eq!(
            check(&bad).unwrap_err(),
            "impair.loss_pct is a percentage: 0 to 100"
        );
        let bad = Impair {
            jitter_ms: MAX_DELAY_MS + 1,
            ..Impair::default()
        };
        assert!(check(&bad).unwrap_err().contains("jitter_ms"));
    }
}
