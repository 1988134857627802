//! [`crate::ReceiveMode::Caller`]: the application's thread reads the sockets itself when they are readable
//! (e.g. the JavaScript thread from a poll handle on its event loop), so that a datagram wakes one thread, not
//! the I/O thread and then the application's.
//!
//! Reading happens only under the engine lock and only while [`Reader::Caller`], so the core sees datagrams in
//! the kernel's order. The I/O thread keeps timers, commands and close; it never calls a sink in this mode: the
//! batches it makes (a `Failed` from a deadline, a peer expiring, a refused command, the goodbye's) join
//! [`crate::engine::Engine::ready`] under the lock and the caller is told with [`Notify::notify`]. A round
//! ([`Endpoint::receive_here`]) takes the queued batches first, then makes its own, in one critical section:
//! batches are delivered once each, in the order they were made.

use std::fmt;
#[cfg(unix)]
use std::os::fd::{AsFd, OwnedFd};
use std::sync::{Arc, TryLockError};
use std::time::{Duration, Instant};

use crate::driver::RECV_CALLS;
use crate::{Endpoint, InboundBatch};

/// Batches the I/O thread queues for the caller at most; beyond, it keeps events in the batch being built
/// (the caller's next round delivers them).
pub(crate) const BATCH_QUEUE: usize = 64;
/// A caller that has not run a round for this long while datagrams wait counts as busy: the I/O thread then
/// extends the peers' leases before it expires any (their announcements may be among the unread datagrams).
pub(crate) const CALLER_STALL: Duration = Duration::from_millis(10);

/// Who reads the sockets (state under the engine lock).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reader {
    /// The I/O thread ([`crate::ReceiveMode::IoThread`]).
    Io,
    /// The caller, with [`Endpoint::receive_here`]; in caller mode, `Io` means that the I/O thread reads for
    /// the caller while traffic is heavy (see `crate::reading`).
    Caller,
    /// Nobody any more (the caller stopped, or the endpoint is closing).
    Closed,
}

/// Tells the caller's thread that it should run [`Endpoint::receive_here`] (batches are waiting) although
/// the sockets may not be readable. Called on the I/O thread (and on threads sending directly), never with
/// the engine lock held; must not block (e.g. `uv_async_send`, a write to an eventfd).
pub trait Notify: Send + Sync + 'static {
    /// Batches wait for the caller.
    fn notify(&self);
}

impl<F: Fn() + Send + Sync + 'static> Notify for F {
    fn notify(&self) {
        self()
    }
}

impl<N: Notify + ?Sized> Notify for Arc<N> {
    fn notify(&self) {
        (**self).notify()
    }
}

/// The caller's [`Notify`], shared by the endpoint handle and the I/O thread.
#[derive(Clone)]
pub(crate) struct Notifier(Arc<dyn Notify>);

impl Notifier {
    /// Wraps the caller's notification.
    pub(crate) fn new(notify: impl Notify) -> Self {
        Notifier(Arc::new(notify))
    }

    /// Tells the caller.
    pub(crate) fn notify(&self) {
        self.0.notify();
    }
}

impl fmt::Debug for Notifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Notifier")
    }
}

/// What one [`Endpoint::receive_here`] round found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Round {
    /// The caller still reads: false once [`Endpoint::stop_caller`] was called or the endpoint is closing
    /// (stop polling the sockets; queued batches are still handed out), or for an endpoint not opened with
    /// [`Endpoint::open_caller`]; also false while the I/O thread reads for the caller because traffic is
    /// heavy: stop polling then, and poll again once a round (run when notified) says `reading` again.
    pub reading: bool,
    /// The round stopped at its budget (receive calls, batch size) with a socket maybe still readable: run
    /// another round soon (after other work, for fairness).
    pub more: bool,
}

impl Endpoint {
    /// Duplicates of `[unicast, discovery]` for the caller to poll for readability (they refer to the same
    /// sockets: readiness is theirs). The caller owns them and closes them when it stops polling; the
    /// ports stay bound until every duplicate is closed. Fails for an endpoint not opened with
    /// [`Endpoint::open_caller`] (`Unsupported`) and once it is closing (`NotConnected`).
    #[cfg(unix)]
    pub fn caller_sockets(&self) -> std::io::Result<[OwnedFd; 2]> {
        use std::io::{Error, ErrorKind};
        if self.notifier.is_none() {
            return Err(Error::new(ErrorKind::Unsupported, "the endpoint was not opened with open_caller"));
        }
        let engine = self.shared.lock_engine();
        let (Some(unicast), Some(discovery)) = (&engine.sender, &engine.discovery) else {
            return Err(Error::new(ErrorKind::NotConnected, "the endpoint is closing"));
        };
        Ok([unicast.as_fd().try_clone_to_owned()?, discovery.as_fd().try_clone_to_owned()?])
    }

    /// One round on the caller's thread, under the engine lock: moves the batches the I/O thread queued to
    /// `out`, then (while the caller is the reader) reads both sockets without blocking until they are
    /// drained or the budget is spent (as one I/O-thread iteration: 8 receive calls of up to 32 datagrams,
    /// at most 4096 entries / 1 MiB), feeds every datagram to the core, runs due timers, sends the ACKs and
    /// replies (waking the I/O thread for what the socket does not take), appends this round's batch, and
    /// publishes the stats. Call [`Endpoint::after_round`] once the batches are delivered.
    ///
    /// Never blocks but for the lock (the I/O thread holds it for one loop iteration at most); once reading
    /// stopped (see [`Round::reading`]) it still hands out what is left for the caller, reading nothing.
    pub fn receive_here(&self, out: &mut Vec<InboundBatch>) -> Round {
        let shared = &*self.shared;
        let mut engine = shared.lock_engine();
        out.extend(engine.ready.drain(..));
        match engine.reader {
            Reader::Caller => {}
            // The I/O thread reads and delivers: nothing here is the caller's.
            Reader::Io => return Round::default(),
            Reader::Closed => {
                // Leftover events (e.g. a refused direct send) are still the caller's to deliver.
                out.extend(engine.take_batch());
                return Round::default();
            }
        }
        let now = Instant::now();
        engine.last_round_at = now;
        let before = engine.rx.read;
        let more = engine.receive_here(now, RECV_CALLS);
        // Heavy traffic goes to the I/O thread (see `crate::reading`); it reads from its next iteration on.
        let after = engine.rx.read;
        let heavy = engine.load.heavy(now, before, after);
        if heavy {
            engine.reader = Reader::Io;
            engine.load.moved(now, after, true);
        }
        if engine.core.poll_timeout().is_some_and(|t| t <= now) {
            engine.core.handle_timeout(now);
        }
        let unsent = !engine.flush_directly(now);
        out.extend(engine.take_batch());
        engine.publish_stats(&shared.stats);
        drop(engine);
        if unsent || heavy {
            shared.mailbox.wake();
        }
        Round { reading: !heavy, more: more && !heavy }
    }

    /// After the caller delivered a round's batches (and ran what they triggered, e.g. replies sent with
    /// [`Endpoint::send_slab`]): wakes the I/O thread only when it must act before it would wake by itself
    /// (a timer armed earlier than that, e.g. a held ACK or a retransmission; datagrams the socket did not
    /// take), and notifies the caller again when events are left over (e.g. a refused direct send).
    pub fn after_round(&self) {
        let engine = match self.shared.engine.try_lock() {
            Ok(engine) => engine,
            Err(TryLockError::Poisoned(e)) => e.into_inner(),
            // Someone holds the lock and may have armed timers the I/O thread does not know about yet: a
            // coalesced wake-up costs the I/O thread one more iteration at most.
            Err(TryLockError::WouldBlock) => return self.shared.mailbox.wake(),
        };
        let unsent = !engine.tx.is_empty();
        self.wake_if_needed(engine, unsent);
    }

    /// Stops reading for good (before close): later rounds read nothing and return `reading: false`, but
    /// still hand out the batches the I/O thread queues until it has closed. The I/O thread keeps announcing
    /// and its timers; peers are not kept up while nobody reads, so close soon.
    pub fn stop_caller(&self) {
        if self.notifier.is_none() {
            return;
        }
        let mut engine = self.shared.lock_engine();
        let reading_for_caller = matches!(engine.reader, Reader::Caller | Reader::Io);
        if reading_for_caller {
            engine.reader = Reader::Closed;
        }
        drop(engine);
        if reading_for_caller {
            // The I/O thread may be reading for the caller (heavy traffic): it stops at its next iteration.
            self.shared.mailbox.wake();
        }
    }
}
