//! [`Engine`]: the protocol state and send path of one endpoint, behind one lock, so that both the I/O thread
//! and a sending thread can drive it.
//!
//! The I/O thread holds the lock for each loop iteration and releases it while it waits. A thread that sends
//! reliable messages (e.g. the JavaScript thread, once per tick) tries the lock: when the I/O thread is
//! waiting and no command is queued ahead, the sender applies its messages and sends the datagrams itself —
//! one thread hop less per message (the I/O thread would otherwise have to be woken for it, which costs tens
//! of µs on a busy or virtualised host). Otherwise it queues a command as before. Either way the order of one
//! sender's messages holds. See [`crate::Endpoint::send_slab`].
//!
//! In [`crate::ReceiveMode::Caller`] the application's thread also reads the sockets under this lock (see
//! [`crate::Endpoint::receive_here`]), and the I/O thread queues the batches it makes in [`Engine::ready`] for
//! that thread, under the lock, so that the batches of both threads keep the order they were made in.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use glue_proto::{Core, EndpointId, SendError};

use crate::batch::BatchBuilder;
use crate::caller::Reader;
use crate::reading::ReadLoad;
use crate::receive::Rx;
use crate::slab::SlabReader;
use crate::stats::StatsCell;
use crate::tx::{Flush, TxQueue};
use crate::{EndpointStats, InboundBatch};

/// State shared by the I/O thread and direct senders (see the module docs).
#[derive(Debug)]
pub(crate) struct Engine {
    /// The sans-IO protocol core.
    pub(crate) core: Core,
    /// Datagrams taken from the core and not yet sent.
    pub(crate) tx: TxQueue,
    /// The batch of events being built for the sink.
    pub(crate) builder: BatchBuilder,
    /// Receive buffers and counters, used by whichever thread reads.
    pub(crate) rx: Rx,
    /// Waiting for the unicast socket to become writable.
    pub(crate) write_blocked: bool,
    /// After `ENOBUFS`: do not send before this.
    pub(crate) retry_at: Option<Instant>,
    /// Best-effort messages to peers that are not (or no longer) accepted peers.
    pub(crate) unknown_peer: u64,
    /// A second handle of the unicast socket for direct senders and the caller's reads (nonblocking, not
    /// registered with the poller); None once the endpoint is closing, so that closing closes the socket.
    pub(crate) sender: Option<mio::net::UdpSocket>,
    /// Who reads the sockets.
    pub(crate) reader: Reader,
    /// The caller's handle of the discovery socket ([`Reader::Caller`] only; None once closing, like
    /// `sender`, which is the caller's handle of the unicast socket).
    pub(crate) discovery: Option<mio::net::UdpSocket>,
    /// Batches the I/O thread made for the caller to deliver, oldest first ([`crate::ReceiveMode::Caller`]).
    pub(crate) ready: VecDeque<InboundBatch>,
    /// When the caller last ran a round ([`crate::Endpoint::receive_here`]).
    pub(crate) last_round_at: Instant,
    /// The traffic that decides who reads ([`crate::ReceiveMode::Caller`]).
    pub(crate) load: ReadLoad,
}

impl Engine {
    /// An engine reading as `reader` says; `discovery` is the caller's handle of the discovery socket
    /// ([`Reader::Caller`]).
    pub(crate) fn new(
        core: Core,
        sender: mio::net::UdpSocket,
        reader: Reader,
        discovery: Option<mio::net::UdpSocket>,
    ) -> Self {
        let builder = BatchBuilder::default();
        Engine {
            core,
            tx: TxQueue::new(),
            builder,
            rx: Rx::new(),
            write_blocked: false,
            retry_at: None,
            unknown_peer: 0,
            sender: Some(sender),
            reader,
            discovery,
            ready: VecDeque::new(),
            last_round_at: Instant::now(),
            load: ReadLoad::new(Instant::now()),
        }
    }

    /// Whether the socket may take datagrams now (not full, not in an `ENOBUFS` pause).
    pub(crate) fn can_send(&self, now: Instant) -> bool {
        !self.write_blocked && !matches!(self.retry_at, Some(at) if now < at)
    }

    /// Queues every record of a (validated) slab as its own send; refusals of reliable ones are reported
    /// per token (a payload refused for a full send queue handed back with its report), best-effort ones to
    /// unknown peers counted (others cannot fail: the slab was validated).
    pub(crate) fn apply_slab(&mut self, now: Instant, slab: &[u8]) {
        let mut records = SlabReader::new(slab);
        while let Some(Ok(record)) = records.next_record() {
            if record.best_effort {
                let sent = match record.to {
                    Some(to) => self.core.send(to, record.payload),
                    None => self.core.broadcast(record.payload),
                };
                if let Err(SendError::UnknownPeer(_)) = sent {
                    self.unknown_peer += 1;
                }
                continue;
            }
            self.send_reliable(now, record.to, record.payload.to_vec(), record.token, record.deadline);
        }
    }

    /// Queues a reliable message to `to` (None: every peer, by multicast). A refusal is reported under
    /// `token`, never dropped silently; a payload refused for a full send queue is handed back with it.
    pub(crate) fn send_reliable(
        &mut self,
        now: Instant,
        to: Option<EndpointId>,
        payload: Vec<u8>,
        token: u32,
        deadline: Option<Duration>,
    ) {
        let result = match to {
            Some(to) => self.core.try_send_reliable(now, to, payload, Some(token as u64), deadline),
            None => self.core.try_broadcast_reliable(now, payload, Some(token as u64), deadline),
        };
        if let Err(refusal) = result {
            self.builder.refuse(token, refusal);
        }
    }

    /// Receives from `sockets` (`[unicast, discovery]`) while `readable` says they may have more, at most
    /// `calls` receive calls, into the core and the batch being built (see [`Rx::receive`]). Returns whether
    /// a socket may still have more.
    pub(crate) fn receive(
        &mut self,
        sockets: [&mio::net::UdpSocket; 2],
        readable: &mut [bool; 2],
        now: Instant,
        calls: usize,
    ) -> bool {
        let Engine { core, builder, rx, .. } = self;
        rx.receive(core, builder, sockets, readable, now, calls)
    }

    /// For the caller: receives from the engine's own handles of both sockets until they are drained, the
    /// batch is full or `calls` receive calls are spent; whether a socket may still have more. Reads nothing
    /// once the endpoint is closing.
    pub(crate) fn receive_here(&mut self, now: Instant, calls: usize) -> bool {
        let Engine { core, builder, rx, sender: Some(unicast), discovery: Some(discovery), .. } = self else {
            return false;
        };
        rx.receive(core, builder, [unicast, discovery], &mut [true; 2], now, calls)
    }

    /// The events so far as one batch, if anything happened.
    pub(crate) fn take_batch(&mut self) -> Option<InboundBatch> {
        let Engine { builder, core, .. } = self;
        builder.collect(core);
        builder.finish(core)
    }

    /// Publishes the counters of the core, the send path and the receive path.
    pub(crate) fn publish_stats(&self, cell: &StatsCell) {
        let mut core = *self.core.stats();
        core.dropped_malformed += self.rx.counters.malformed;
        let mut stats = EndpointStats { core, ..EndpointStats::default() };
        stats.send_errors = self.tx.send_errors;
        stats.recv_errors = self.rx.counters.recv_errors;
        stats.dropped_send_unknown_peer = self.unknown_peer;
        stats.reading_to_io_thread = self.load.to_io;
        stats.reading_to_caller = self.load.to_caller;
        cell.publish(stats);
    }

    /// Sends what the core has queued on `socket` until it has no more or the socket is full.
    pub(crate) fn flush(&mut self, now: Instant, socket: &mio::net::UdpSocket) -> Flush {
        self.tx.flush(now, &mut self.core, socket)
    }

    /// For a direct sender: applies a slab and sends on the engine's own socket handle. None (nothing done)
    /// once the endpoint is closing; else whether datagrams are left that the socket did not take.
    pub(crate) fn send_slab_directly(&mut self, now: Instant, slab: &[u8]) -> Option<bool> {
        self.sender.as_ref()?;
        self.apply_slab(now, slab);
        Some(!self.flush_directly(now))
    }

    /// For a thread other than the I/O thread: sends what the core has queued on the engine's own socket
    /// handle; whether everything went (also true when the socket may not take datagrams now or the endpoint
    /// is closing: the I/O thread sends them then). Never marks the socket blocked: that is the I/O thread's
    /// business, which registers for writability when its own flush finds the socket full.
    pub(crate) fn flush_directly(&mut self, now: Instant) -> bool {
        if !self.can_send(now) {
            return true;
        }
        let Engine { core, tx, sender: Some(sender), .. } = self else { return true };
        tx.flush(now, core, sender) == Flush::Done
    }

    /// Whether events wait to be delivered (collected into the batch being built, or still in the core).
    pub(crate) fn has_events(&self) -> bool {
        self.builder.entries() > 0 || self.core.has_events()
    }
}

/// When the I/O thread will wake up by itself, so that a direct sender knows whether it must wake it (it
/// must when it armed an earlier timer, e.g. the first retransmission timeout after an idle time).
#[derive(Debug)]
pub(crate) struct WakeTime {
    epoch: Instant,
    /// Nanoseconds since `epoch`; `u64::MAX` = not before something happens.
    at: AtomicU64,
}

impl WakeTime {
    pub(crate) fn new() -> Self {
        WakeTime { epoch: Instant::now(), at: AtomicU64::new(0) }
    }

    /// Records the time the I/O thread will wake up at the latest (None: only on an event).
    pub(crate) fn set(&self, at: Option<Instant>) {
        let nanos = at.map_or(u64::MAX, |at| {
            u64::try_from(at.saturating_duration_since(self.epoch).as_nanos()).unwrap_or(u64::MAX)
        });
        self.at.store(nanos, Ordering::Release);
    }

    /// Whether the I/O thread, as it waits now, would wake up later than `deadline`.
    pub(crate) fn later_than(&self, deadline: Instant) -> bool {
        let at = self.at.load(Ordering::Acquire);
        let deadline = deadline.saturating_duration_since(self.epoch).as_nanos();
        u128::from(at) > deadline
    }
}
