//! The I/O thread's loop: wait, receive, apply commands, run timers, send, deliver one batch, publish
//! stats; on close, say goodbye and return (dropping, and so closing, the sockets).
//!
//! In [`crate::ReceiveMode::Caller`] the loop does not read (the sockets are not registered for reading; the
//! caller reads, see [`crate::caller`]) but while traffic is heavy (see [`crate::reading`]), and queues its
//! batches for the caller instead of calling a sink.

use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use glue_proto::SendError;
use mio::net::UdpSocket;
use mio::{Events, Interest, Poll, Token};

use crate::caller::{Notifier, Reader, BATCH_QUEUE, CALLER_STALL};
use crate::command::{Command, Control, Inbox};
use crate::endpoint::Shared;
use crate::engine::Engine;
use crate::tx::Flush;
use crate::{InboundBatch, Sink};

pub(crate) const UNICAST: Token = Token(0);
pub(crate) const DISCOVERY: Token = Token(1);
pub(crate) const WAKER: Token = Token(2);

/// Receive calls per iteration at most (each up to `RX_BATCH` datagrams), so commands and timers run.
pub(crate) const RECV_CALLS: usize = 8;
/// Commands applied per iteration at most.
const COMMANDS_PER_ITERATION: usize = 4096;
/// While applying commands, send after this many payload bytes, so the core's outbox stays small.
const FLUSH_EVERY_BYTES: usize = 256 << 10;
/// How often a paused I/O thread (consumer not ready) looks at the consumer again.
const CONSUMER_RETRY: Duration = Duration::from_millis(1);
/// How long to wait before retrying after `ENOBUFS`.
const NO_BUFFERS_RETRY: Duration = Duration::from_millis(1);
/// How long closing may wait for the socket to take the goodbye.
const CLOSE_FLUSH_TIMEOUT: Duration = Duration::from_millis(500);

/// Where the I/O thread's batches go.
pub(crate) enum Delivery<S> {
    /// To the sink, after the engine lock is dropped ([`crate::ReceiveMode::IoThread`]).
    Sink(S),
    /// Into [`Engine::ready`] under the lock, then the caller is notified ([`crate::ReceiveMode::Caller`]).
    Caller(Notifier),
}

/// The sink type of a driver that has none ([`Delivery::Caller`]); no value of it exists.
pub(crate) enum NoSink {}

impl Sink for NoSink {
    fn deliver(&mut self, _: InboundBatch) -> bool {
        match *self {}
    }
}

/// What became of an iteration's batch under the lock, to finish after unlocking.
enum Handover {
    /// No batch.
    Nothing,
    /// For the sink.
    Sink(InboundBatch),
    /// Queued for the caller: notify it.
    Notify,
}

/// Everything the I/O thread owns.
pub(crate) struct Driver<S: Sink> {
    poll: Poll,
    sockets: [UdpSocket; 2],
    inbox: Inbox,
    shared: Arc<Shared>,
    delivery: Delivery<S>,
    consumer_alive: bool,
    /// Per socket: may have more to read (edge-triggered readiness not yet drained).
    readable: [bool; 2],
    /// Whether WRITABLE interest is registered (on unicast; READABLE is registered on both sockets when the I/O
    /// thread reads, never otherwise).
    writable_interest: bool,
    /// Whether READABLE interest is registered on both sockets (this thread reads: always with a sink; with
    /// a caller while it reads for it, see [`crate::reading`]).
    reading: bool,
    /// Commands may be waiting (the drain stopped early).
    commands_pending: bool,
    /// The consumer is not ready for a batch: nothing is read or delivered until it is (see [`Sink::ready`]);
    /// for the caller: [`BATCH_QUEUE`] batches wait for it.
    paused: bool,
    busy_poll: Duration,
}

impl<S: Sink> Driver<S> {
    /// A driver over the sockets (`[unicast, discovery]`), registered for reading when it delivers to a sink.
    pub(crate) fn new(
        poll: Poll,
        sockets: [UdpSocket; 2],
        inbox: Inbox,
        shared: Arc<Shared>,
        delivery: Delivery<S>,
    ) -> Self {
        let reads = matches!(delivery, Delivery::Sink(_));
        Driver {
            poll,
            sockets,
            inbox,
            shared,
            delivery,
            consumer_alive: true,
            readable: [reads; 2],
            writable_interest: false,
            reading: reads,
            commands_pending: true,
            paused: false,
            busy_poll: Duration::ZERO,
        }
    }

    /// Keeps polling without sleeping for `busy_poll` after each activity.
    pub(crate) fn with_busy_poll(mut self, busy_poll: Duration) -> Self {
        self.busy_poll = busy_poll;
        self
    }

    /// Runs until close is requested (or waiting fails), then says goodbye.
    pub(crate) fn run(mut self) {
        let shared = self.shared.clone();
        let mut events = Events::with_capacity(16);
        let mut active_at = Instant::now();
        loop {
            let now = Instant::now();
            let mut timeout = {
                // Published under the lock: a direct sender that arms an earlier timer afterwards wakes us.
                let engine = shared.lock_engine();
                let timeout = self.poll_timeout(&engine, now);
                shared.wake_time.set(timeout.map(|t| now + t));
                timeout
            };
            // Busy polling (opt-in): stay awake a little after activity, trading CPU for latency.
            if now.duration_since(active_at) < self.busy_poll {
                timeout = Some(Duration::ZERO);
            }
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                break; // Cannot wait any more: close as well as we can.
            }
            if !events.is_empty() {
                active_at = Instant::now();
            }
            let mut engine = shared.lock_engine();
            shared.wake_time.set(Some(Instant::now()));
            let reads = self.reads(&engine);
            if reads != self.reading {
                self.set_reading(reads);
            }
            for event in events.iter() {
                match event.token() {
                    UNICAST => {
                        self.readable[0] |= reads && (event.is_readable() || event.is_error());
                        engine.write_blocked &= !(event.is_writable() || event.is_error());
                    }
                    DISCOVERY => self.readable[1] = reads,
                    _ => {}
                }
            }
            let now = Instant::now();
            self.paused = match &mut self.delivery {
                Delivery::Sink(sink) => self.consumer_alive && !sink.ready(),
                Delivery::Caller(_) => engine.ready.len() >= BATCH_QUEUE,
            };
            if reads && !self.paused {
                let [unicast, discovery] = &self.sockets;
                engine.receive([unicast, discovery], &mut self.readable, now, RECV_CALLS);
            }
            let closing = self.shared.mailbox.close_requested();
            self.apply_commands(&mut engine, now);
            if engine.core.poll_timeout().is_some_and(|t| t <= now) {
                if (reads && self.paused) || self.caller_stalled(&engine, now) {
                    // Unread announcements are not silence: no peer expires while nobody reads.
                    engine.core.extend_leases(now);
                }
                engine.core.handle_timeout(now);
            }
            self.flush(&mut engine, now);
            let batch = if self.paused { None } else { engine.take_batch() };
            let mut handover = self.hand_over(&mut engine, batch);
            if self.give_reading_back(&mut engine, now) {
                handover = Handover::Notify; // the caller polls again from its next round
            }
            engine.publish_stats(&shared.stats);
            // The sink may block, and the consumer may want to send directly: never hold the lock there.
            drop(engine);
            self.deliver(handover);
            if closing {
                break;
            }
        }
        let handover = self.say_goodbye(&mut shared.lock_engine());
        self.deliver(handover);
    }

    fn poll_timeout(&self, engine: &Engine, now: Instant) -> Option<Duration> {
        let work = !self.paused && (self.readable.iter().any(|&r| r) || engine.builder.entries() > 0);
        if work || (self.commands_pending && engine.can_send(now)) || self.shared.mailbox.close_requested() {
            return Some(Duration::ZERO);
        }
        // While paused, look at the consumer again soon (the caller takes what waits by itself).
        let reads = self.reads(engine);
        let consumer = (self.paused && reads).then(|| now + CONSUMER_RETRY);
        // Reading for the caller: wake when the window ends, to give reading back if traffic was light.
        let window =
            (reads && matches!(self.delivery, Delivery::Caller(_))).then(|| engine.load.window_end());
        [engine.core.poll_timeout(), engine.retry_at, consumer, window]
            .into_iter()
            .flatten()
            .min()
            .map(|d| d.saturating_duration_since(now))
    }

    /// Applies queued commands while the socket takes datagrams (backpressure: when it does not, the
    /// queue fills up and senders are told so).
    fn apply_commands(&mut self, engine: &mut Engine, now: Instant) {
        self.shared.mailbox.start_drain();
        while let Some(control) = self.inbox.next_control() {
            match control {
                Control::Reject(id) => engine.core.reject_peer(now, id),
                // Checked by the handle; a refusal here (closing) has nobody left to tell.
                Control::SetAnnounceExtension { kind, value } => {
                    let _ = engine.core.set_announce_extension(now, kind, &value);
                }
            }
        }
        self.commands_pending = false;
        let mut unflushed = 0;
        for _ in 0..COMMANDS_PER_ITERATION {
            if !engine.can_send(now) {
                self.commands_pending = true;
                return;
            }
            let Some(command) = self.inbox.next_command() else { return };
            let len = command.len();
            let result = match command {
                Command::Slab(slab) => {
                    engine.apply_slab(now, &slab);
                    Ok(())
                }
                Command::Send { to, payload } => engine.core.send(to, &payload),
                Command::Broadcast(payload) => engine.core.broadcast(&payload),
                // Reliable sends report their own refusals (see `Engine::send_reliable`).
                Command::SendReliable { to, payload, token, deadline } => {
                    engine.send_reliable(now, Some(to), payload, token, deadline);
                    Ok(())
                }
                Command::BroadcastReliable { payload, token, deadline } => {
                    engine.send_reliable(now, None, payload, token, deadline);
                    Ok(())
                }
            };
            match result {
                Ok(()) => {}
                Err(SendError::UnknownPeer(_)) => engine.unknown_peer += 1,
                // Too large and closed are checked before queueing; count anything else as a send error.
                Err(_) => engine.tx.send_errors += 1,
            }
            unflushed += len;
            if unflushed >= FLUSH_EVERY_BYTES {
                self.flush(engine, now);
                unflushed = 0;
            }
        }
        self.commands_pending = true;
    }

    fn flush(&mut self, engine: &mut Engine, now: Instant) {
        if !engine.can_send(now) {
            return;
        }
        engine.retry_at = None;
        let want_writable = match engine.flush(now, &self.sockets[0]) {
            Flush::Done => false,
            Flush::WouldBlock => {
                engine.write_blocked = true;
                true
            }
            Flush::NoBuffers => {
                engine.retry_at = Some(now + NO_BUFFERS_RETRY);
                self.writable_interest
            }
        };
        if want_writable != self.writable_interest {
            if self.register_unicast(self.reading, want_writable).is_ok() {
                self.writable_interest = want_writable;
            } else {
                // Without writable events, fall back to retrying on a short timer.
                engine.write_blocked = false;
                engine.retry_at = Some(now + NO_BUFFERS_RETRY);
            }
        }
    }

    /// Whether this thread reads the sockets: always with a sink ([`crate::ReceiveMode::IoThread`]); with a
    /// caller while it reads for it (heavy traffic).
    fn reads(&self, engine: &Engine) -> bool {
        matches!(self.delivery, Delivery::Sink(_)) || engine.reader == Reader::Io
    }

    /// Starts or stops reading: registers both sockets for reading (keeping unicast's writability interest)
    /// or deregisters them. Registering reports what is readable already; the flags say so anyway.
    fn set_reading(&mut self, reading: bool) {
        let _ = self.register_unicast(reading, self.writable_interest);
        let registry = self.poll.registry();
        let discovery = &mut self.sockets[1];
        let _ = if reading {
            registry.register(discovery, DISCOVERY, Interest::READABLE)
        } else {
            registry.deregister(discovery)
        };
        self.reading = reading;
        self.readable = [reading; 2];
    }

    /// Reading for the caller, after a whole window of light traffic: hands reading back to the caller
    /// (which is then notified) and stops reading. Whether it did.
    fn give_reading_back(&mut self, engine: &mut Engine, now: Instant) -> bool {
        if !matches!(self.delivery, Delivery::Caller(_)) || engine.reader != Reader::Io {
            return false;
        }
        let total = engine.rx.read;
        if !engine.load.light(now, total) {
            return false;
        }
        engine.reader = Reader::Caller;
        engine.load.moved(now, total, false);
        self.set_reading(false);
        true
    }

    /// Registers the unicast socket for reading when `reading` and for writability when `writable`,
    /// re-registering or deregistering it as what is registered now (`self.reading`,
    /// `self.writable_interest`) requires; the caller then records the new state.
    fn register_unicast(&mut self, reading: bool, writable: bool) -> io::Result<()> {
        let registered = self.reading || self.writable_interest;
        let interest = match (reading, writable) {
            (true, true) => Some(Interest::READABLE | Interest::WRITABLE),
            (true, false) => Some(Interest::READABLE),
            (false, true) => Some(Interest::WRITABLE),
            (false, false) => None,
        };
        let registry = self.poll.registry();
        let socket = &mut self.sockets[0];
        match (interest, registered) {
            (Some(interest), true) => registry.reregister(socket, UNICAST, interest),
            (Some(interest), false) => registry.register(socket, UNICAST, interest),
            (None, true) => registry.deregister(socket),
            (None, false) => Ok(()),
        }
    }

    /// Whether the caller reads but has not for a while although datagrams wait ([`CALLER_STALL`]): its
    /// peers' announcements may be among them.
    fn caller_stalled(&self, engine: &Engine, now: Instant) -> bool {
        engine.reader == Reader::Caller
            && now.saturating_duration_since(engine.last_round_at) > CALLER_STALL
            && crate::sys::readable_now([&self.sockets[0], &self.sockets[1]])
    }

    /// Under the engine lock: queues a batch for the caller (so that no batch the caller makes later can
    /// overtake it), or keeps it for the sink.
    fn hand_over(&self, engine: &mut Engine, batch: Option<InboundBatch>) -> Handover {
        match (batch, &self.delivery) {
            (None, _) => Handover::Nothing,
            (Some(batch), Delivery::Sink(_)) => Handover::Sink(batch),
            (Some(batch), Delivery::Caller(_)) => {
                engine.ready.push_back(batch);
                Handover::Notify
            }
        }
    }

    /// Hands a batch to the sink, or notifies the caller (called without the engine lock).
    fn deliver(&mut self, handover: Handover) {
        match (handover, &mut self.delivery) {
            (Handover::Sink(batch), Delivery::Sink(sink)) => {
                if self.consumer_alive && sink.deliver(batch) {
                    return;
                }
                self.consumer_alive = false;
                self.shared.stats.count_dropped_batch();
            }
            (Handover::Notify, Delivery::Caller(notifier)) => notifier.notify(),
            _ => {}
        }
    }

    /// Queues the goodbye and sends everything left, waiting a little for a full socket; nobody reads any
    /// more. Returns the last batch's hand-over, to finish without the lock.
    fn say_goodbye(&mut self, engine: &mut Engine) -> Handover {
        engine.sender = None;
        engine.discovery = None;
        engine.reader = Reader::Closed;
        engine.core.close();
        let deadline = Instant::now() + CLOSE_FLUSH_TIMEOUT;
        loop {
            let now = Instant::now();
            if engine.flush(now, &self.sockets[0]) == Flush::Done || now >= deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        let batch = engine.take_batch();
        let handover = self.hand_over(engine, batch);
        engine.publish_stats(&self.shared.stats);
        handover
    }
}
