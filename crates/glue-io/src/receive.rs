//! [`Rx`]: reading datagrams from the sockets into the core, with the receive buffers and the counters of
//! what could not be handed to it. Lives in the [`crate::engine::Engine`], so that whichever thread holds
//! the engine lock (the I/O thread, or the caller in [`crate::ReceiveMode::Caller`]) reads the same way and
//! the core sees datagrams in the kernel's order.

use std::io;
use std::time::Instant;

use glue_proto::Core;
use mio::net::UdpSocket;

use crate::batch::BatchBuilder;
use crate::sys::RecvBatch;

/// A batch stops growing (the next receive waits for the next round) past this many payload bytes.
const BATCH_BYTES: usize = 1 << 20;
/// ... or this many entries.
const BATCH_ENTRIES: usize = 4096;

/// Counters kept by the receive path itself (the core keeps the protocol's).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// Receive calls that failed (other than "nothing to read").
    pub(crate) recv_errors: u64,
    /// Truncated datagrams and unknown address families (added to the core's `dropped_malformed`).
    pub(crate) malformed: u64,
}

/// Datagrams and bytes read so far (whichever thread read them), to tell how heavy the traffic is.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Traffic {
    pub(crate) datagrams: u64,
    pub(crate) bytes: u64,
    /// Entries they made: messages, delivery reports, peer events.
    pub(crate) entries: u64,
}

/// The receive buffers (reused for every call) and the receive counters.
#[derive(Debug)]
pub(crate) struct Rx {
    batch: RecvBatch,
    pub(crate) counters: Counters,
    /// Everything read so far.
    pub(crate) read: Traffic,
}

impl Rx {
    /// Allocates the buffers (once per endpoint).
    pub(crate) fn new() -> Self {
        Rx { batch: RecvBatch::new(), counters: Counters::default(), read: Traffic::default() }
    }

    /// Receives from `sockets` in turn while `readable` says one may have more, feeding every datagram to
    /// the core and its events to `builder`; stops when both are drained (their flag cleared), the batch is
    /// full or `calls` receive calls are spent. Returns whether it stopped with a socket still readable.
    pub(crate) fn receive(
        &mut self,
        core: &mut Core,
        builder: &mut BatchBuilder,
        sockets: [&UdpSocket; 2],
        readable: &mut [bool; 2],
        now: Instant,
        calls: usize,
    ) -> bool {
        let mut made = 0;
        while readable.iter().any(|&r| r) {
            for (i, socket) in sockets.iter().enumerate() {
                if !readable[i] {
                    continue;
                }
                if made == calls
                    || builder.entries() >= BATCH_ENTRIES
                    || core.inbox().len() + builder.owned_bytes() >= BATCH_BYTES
                {
                    return true;
                }
                made += 1;
                match self.batch.recv(*socket) {
                    Ok(n) => {
                        self.read.datagrams += n as u64;
                        let entries = builder.entries();
                        for j in 0..n {
                            let (meta, bytes) = self.batch.get_mut(j);
                            self.read.bytes += bytes.len() as u64;
                            match meta.from {
                                Some(from) if !meta.truncated => {
                                    core.handle_datagram_in_place(now, from, bytes)
                                }
                                _ => self.counters.malformed += 1,
                            }
                        }
                        builder.collect(core);
                        self.read.entries += builder.entries().saturating_sub(entries) as u64;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => readable[i] = false,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => {
                        // Not expected for UDP; the next readiness edge retries.
                        self.counters.recv_errors += 1;
                        readable[i] = false;
                    }
                }
            }
        }
        false
    }
}
