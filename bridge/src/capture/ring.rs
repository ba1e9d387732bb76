//! The capture ring: `PACKET_RX_RING` with `TPACKET_V3`, memory the kernel and the bridge share.
//!
//! Reading packets one `recv()` at a time cost two system calls per packet (the packet, then
//! `SIOCGSTAMPNS` for its time) — a quarter of everything the bridge did while a class echoed.
//! With a ring the kernel writes each packet, with its timestamp, straight into a block of
//! memory mapped into the bridge, and wakes the bridge once per block, not per packet:
//!
//! ```text
//! [block 0: hdr | pkt | pkt | pkt …][block 1 …] … [block N-1 …]     (mmap'ed, N × BLOCK)
//!   block_status: TP_STATUS_KERNEL (kernel may fill it) → TP_STATUS_USER (ours to read)
//! ```
//! A block is handed over when it is full or [`RETIRE_MS`] after its first packet, so a lone
//! packet waits at most that long. Each packet carries `tp_sec`/`tp_nsec`: the kernel's receive
//! time, taken for every packet from the first one on (no lazily enabled timestamps).

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::{Duration, SystemTime};

/// One block: 256 KiB holds at least 3 full-size loopback frames (65,536 + headers), and
/// hundreds of small ones.
pub(crate) const BLOCK: usize = 256 << 10;
/// Blocks in the ring: 8 MiB in all, as much as the socket buffer this replaced. A burst of
/// connections (thousands of packets) fits; what does not is counted by the kernel and reported.
///
/// Many small blocks rather than a few big ones: when packets are sparse, each block is handed
/// over [`RETIRE_MS`] after its first packet however little it holds, so the ring rides out
/// `BLOCKS × RETIRE_MS` of a bridge too busy to read it — 64 ms here. With 8 blocks of 1 MiB it
/// was 16 ms, and a loaded 2-core machine (an export beside a browser test run) overflowed it.
pub(crate) const BLOCKS: usize = 32;
/// A block that is not full is handed over this long after its first packet: the longest a
/// packet waits before the bridge sees it.
pub(crate) const RETIRE_MS: u32 = 2;
/// `tp_frame_size`: for `TPACKET_V3` only a granularity (frames are variable-sized).
const FRAME: usize = 2048;

// linux/if_packet.h
const PACKET_RX_RING: libc::c_int = 5;
const PACKET_VERSION: libc::c_int = 10;
const TPACKET_V3: libc::c_int = 2;
const TP_STATUS_KERNEL: u32 = 0;
const TP_STATUS_USER: u32 = 1;

/// `struct tpacket_req3`.
#[repr(C)]
struct Req3 {
    block_size: u32,
    block_nr: u32,
    frame_size: u32,
    frame_nr: u32,
    retire_blk_tov: u32,
    sizeof_priv: u32,
    feature_req_word: u32,
}

/// The mapped ring of one packet socket.
pub(crate) struct Ring {
    map: *mut u8,
    /// The block to read next.
    next: usize,
}

// SAFETY: the mapping belongs to this Ring alone; the kernel's side is synchronised through each
// block's status word (see `read`).
unsafe impl Send for Ring {}

impl Ring {
    /// Turns `fd` (an `AF_PACKET` socket, not yet bound) into a `TPACKET_V3` ring and maps it.
    pub(crate) fn new(fd: &OwnedFd) -> io::Result<Ring> {
        set(fd, PACKET_VERSION, &TPACKET_V3)?;
        let req = Req3 {
            block_size: BLOCK as u32,
            block_nr: BLOCKS as u32,
            frame_size: FRAME as u32,
            frame_nr: (BLOCK / FRAME * BLOCKS) as u32,
            retire_blk_tov: RETIRE_MS,
            sizeof_priv: 0,
            feature_req_word: 0,
        };
        set(fd, PACKET_RX_RING, &req)?;
        // SAFETY: mapping the ring the kernel just allocated for this socket, at its size.
        let map = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                BLOCK * BLOCKS,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_LOCKED,
                fd.as_raw_fd(),
                0,
            )
        };
        if map == libc::MAP_FAILED {
            // MAP_LOCKED needs RLIMIT_MEMLOCK; without it, an ordinary mapping.
            // SAFETY: as above.
            let map = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    BLOCK * BLOCKS,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_SHARED,
                    fd.as_raw_fd(),
                    0,
                )
            };
            if map == libc::MAP_FAILED {
                return Err(io::Error::last_os_error());
            }
            return Ok(Ring {
                map: map.cast(),
                next: 0,
            });
        }
        Ok(Ring {
            map: map.cast(),
            next: 0,
        })
    }

    fn status(&self, block: usize) -> &std::sync::atomic::AtomicU32 {
        // SAFETY: the status word is inside the mapping, 4-byte aligned (blocks are page
        // aligned, the word is at offset 8), and only ever accessed atomically here.
        unsafe {
            &*self
                .map
                .add(block * BLOCK + 8)
                .cast::<std::sync::atomic::AtomicU32>()
        }
    }

    /// Hands every packet of the next block, if it is ready, to `each` (frame, kernel time),
    /// and the block back to the kernel. Returns whether there was one.
    pub(crate) fn read_one(&mut self, mut each: impl FnMut(&[u8], SystemTime)) -> bool {
        use std::sync::atomic::Ordering;
        if self.status(self.next).load(Ordering::Acquire) & TP_STATUS_USER == 0 {
            return false;
        }
        // SAFETY: the block is ours until we give it back below; it lies in the mapping.
        let block = unsafe { std::slice::from_raw_parts(self.map.add(self.next * BLOCK), BLOCK) };
        for_each_packet(block, &mut each);
        self.status(self.next)
            .store(TP_STATUS_KERNEL, Ordering::Release);
        self.next = (self.next + 1) % BLOCKS;
        true
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        // SAFETY: unmapping what `new` mapped, once.
        unsafe { libc::munmap(self.map.cast(), BLOCK * BLOCKS) };
    }
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_ne_bytes(b[at..at + 2].try_into().expect("2 bytes"))
}

/// The packets of one block (`struct tpacket_block_desc` with `tpacket_hdr_v1`, then
/// `tpacket3_hdr` + frame each, chained by `tp_next_offset`).
fn for_each_packet(block: &[u8], each: &mut impl FnMut(&[u8], SystemTime)) {
    let count = u32_at(block, 12);
    let mut at = u32_at(block, 16) as usize;
    for _ in 0..count {
        let Some(hdr) = block.get(at..at + 28) else {
            return;
        };
        let (next, sec, nsec) = (u32_at(hdr, 0), u32_at(hdr, 4), u32_at(hdr, 8));
        let snaplen = u32_at(hdr, 12) as usize;
        let mac = usize::from(u16_at(hdr, 24));
        if let Some(frame) = block.get(at + mac..at + mac + snaplen) {
            let time = SystemTime::UNIX_EPOCH + Duration::new(u64::from(sec), nsec);
            each(frame, time);
        }
        if next == 0 {
            return;
        }
        at += next as usize;
    }
}

fn set<T>(fd: &OwnedFd, name: libc::c_int, value: &T) -> io::Result<()> {
    // SAFETY: a valid fd and a value of the size we pass.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_PACKET,
            name,
            (value as *const T).cast(),
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}
