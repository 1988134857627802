//! [`Endpoint`]: opens the sockets, starts the I/O thread, and is the handle other threads use.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use glue_proto::{Core, EndpointId};
use mio::{Interest, Poll, Waker};

use crate::caller::{Notifier, Reader};
use crate::command::{Command, Control, Mailbox, Posted};
use crate::driver::{Delivery, Driver, NoSink, DISCOVERY, UNICAST, WAKER};
use crate::engine::{Engine, WakeTime};
use crate::stats::StatsCell;
use crate::{socket, EndpointStats, Error, IoConfig, Notify, ReceiveMode, Sink};

/// Slabs of at most this many records may be sent directly by the calling thread (see
/// [`Endpoint::send_slab`]).
const DIRECT_MAX_RECORDS: usize = 8;

/// State shared by the handle and the I/O thread.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) mailbox: Mailbox,
    pub(crate) stats: StatsCell,
    /// The protocol state, driven by the I/O thread and by direct senders (see [`crate::engine`]).
    pub(crate) engine: Mutex<Engine>,
    /// When the waiting I/O thread wakes up by itself.
    pub(crate) wake_time: WakeTime,
    /// Set when the I/O thread has finished (sockets closed), even if it panicked.
    exited: AtomicBool,
}

impl Shared {
    /// The engine, even if a thread panicked while holding it (its state is still consistent enough to close).
    pub(crate) fn lock_engine(&self) -> MutexGuard<'_, Engine> {
        self.engine.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Sets [`Shared::exited`] when the I/O thread ends, however it ends.
struct ExitGuard(Arc<Shared>);

impl Drop for ExitGuard {
    fn drop(&mut self) {
        self.0.exited.store(true, Ordering::SeqCst);
    }
}

/// A running endpoint: its sockets are open and its I/O thread announces, receives and sends.
///
/// `Endpoint` is `Send + Sync`; share it (e.g. in an `Arc`) to send from several threads. Dropping it
/// closes it (blocking, see [`Endpoint::close`], unless it was closed in the background).
#[derive(Debug)]
pub struct Endpoint {
    id: EndpointId,
    local: SocketAddr,
    max_payload: usize,
    max_message_size: usize,
    /// Bytes of an announcement without extensions (body), to check extension sizes up front.
    announce_base: usize,
    /// Size of each announcement extension record set so far, by type.
    extension_sizes: Mutex<[usize; 256]>,
    pub(crate) shared: Arc<Shared>,
    /// The caller's notification ([`ReceiveMode::Caller`] only).
    pub(crate) notifier: Option<Notifier>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Endpoint {
    /// Validates `config`, opens and configures both sockets, and starts the I/O thread
    /// (`glue-io-<name>`), which announces at once and hands every batch of events to `sink`.
    ///
    /// Nothing is sent and nothing stays open when this fails. `config.receive` must be
    /// [`ReceiveMode::IoThread`] (see [`Endpoint::open_caller`] for the other one).
    pub fn open(config: IoConfig, sink: impl Sink) -> Result<Endpoint, Error> {
        if config.receive != ReceiveMode::IoThread {
            return Err(Error::InvalidConfig(glue_proto::ConfigError {
                field: "receive",
                value: format!("{:?}", config.receive),
                reason: "an endpoint that the caller reads is opened with open_caller",
            }));
        }
        Self::start(config, Delivery::Sink(sink))
    }

    /// Like [`Endpoint::open`], but in [`ReceiveMode::Caller`] (whatever `config.receive` says): the calling
    /// application reads the sockets itself. It polls [`Endpoint::caller_sockets`] for readability and, when
    /// they are readable or `notify` was called, runs [`Endpoint::receive_here`], delivers the batches and
    /// calls [`Endpoint::after_round`]. The I/O thread does not read: it announces, runs timers and commands,
    /// sends what the socket did not take, closes, and queues the batches it makes for the caller (then calls
    /// `notify`). Datagrams that arrive before the caller polls wait in the kernel. To close, first
    /// [`Endpoint::stop_caller`] and stop polling (closing the duplicates), then close as usual.
    pub fn open_caller(mut config: IoConfig, notify: impl Notify) -> Result<Endpoint, Error> {
        config.receive = ReceiveMode::Caller;
        Self::start(config, Delivery::<NoSink>::Caller(Notifier::new(notify)))
    }

    fn start<S: Sink>(config: IoConfig, delivery: Delivery<S>) -> Result<Endpoint, Error> {
        config.validate()?;
        let sockets = socket::open(&config)?;
        let core = Core::new(config.core_config(sockets.local.port()), Instant::now())?;
        let max_payload = core.max_payload();
        let poll = Poll::new().map_err(|e| Error::socket(e, "create the poller"))?;
        let waker = Waker::new(poll.registry(), WAKER).map_err(|e| Error::socket(e, "create the waker"))?;
        let sender = sockets
            .unicast
            .try_clone()
            .map_err(|e| Error::socket(e, format!("duplicate unicast {}", sockets.local)))?;
        let notifier = match &delivery {
            Delivery::Sink(_) => None,
            Delivery::Caller(notifier) => Some(notifier.clone()),
        };
        // The caller reads through handles of its own; the I/O thread's are registered for reading only
        // when it reads (in caller mode it registers unicast for writability while the socket is full).
        let caller_discovery = notifier
            .as_ref()
            .map(|_| sockets.discovery.try_clone())
            .transpose()
            .map_err(|e| Error::socket(e, format!("duplicate discovery {}", config.discovery_listen)))?;
        let mut unicast = mio::net::UdpSocket::from_std(sockets.unicast);
        let mut discovery = mio::net::UdpSocket::from_std(sockets.discovery);
        if notifier.is_none() {
            let registry = poll.registry();
            registry
                .register(&mut unicast, UNICAST, Interest::READABLE)
                .map_err(|e| Error::socket(e, format!("register unicast {}", sockets.local)))?;
            registry
                .register(&mut discovery, DISCOVERY, Interest::READABLE)
                .map_err(|e| Error::socket(e, format!("register discovery {}", config.discovery_listen)))?;
        }
        let reader = if notifier.is_some() { Reader::Caller } else { Reader::Io };
        let sender = mio::net::UdpSocket::from_std(sender);
        let mut engine =
            Engine::new(core, sender, reader, caller_discovery.map(mio::net::UdpSocket::from_std));
        if let Some(group6) = config.dual_stack {
            engine.tx.dual_stack(config.discovery_target, group6.into());
        }
        let (mailbox, inbox) = Mailbox::new(waker);
        let shared = Arc::new(Shared {
            mailbox,
            stats: StatsCell::default(),
            engine: Mutex::new(engine),
            wake_time: WakeTime::new(),
            exited: AtomicBool::new(false),
        });
        let driver = Driver::new(poll, [unicast, discovery], inbox, shared.clone(), delivery)
            .with_busy_poll(config.busy_poll);
        let guard = ExitGuard(shared.clone());
        let thread = std::thread::Builder::new()
            .name(thread_name(&config.name))
            .spawn(move || {
                let _guard = guard;
                driver.run();
            })
            .map_err(|e| Error::socket(e, "start the I/O thread"))?;
        Ok(Endpoint {
            id: config.id,
            local: sockets.local,
            max_payload,
            max_message_size: config.reliable.max_message_size,
            announce_base: 12 + config.name.len(),
            extension_sizes: Mutex::new([0; 256]),
            shared,
            notifier,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// This endpoint's ID.
    pub fn id(&self) -> EndpointId {
        self.id
    }

    /// The unicast socket's address (with the actual port when port 0 was configured).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Largest payload of one message, bytes (from `max_datagram_size`).
    pub fn max_payload(&self) -> usize {
        self.max_payload
    }

    /// Queues a best-effort message to the peer `to`. Returns `Ok(false)` when the command queue is full
    /// (the message is dropped and counted in `dropped_send_queue_full`). A `to` that is not an accepted
    /// peer is counted in `dropped_send_unknown_peer` on the I/O thread, not reported here.
    pub fn send(&self, to: EndpointId, payload: &[u8]) -> Result<bool, Error> {
        self.check(payload)?;
        self.post(Command::Send { to, payload: payload.to_vec() })
    }

    /// Queues a best-effort message to every endpoint (the discovery target). `Ok(false)` as for
    /// [`Endpoint::send`].
    pub fn broadcast(&self, payload: &[u8]) -> Result<bool, Error> {
        self.check(payload)?;
        self.post(Command::Broadcast(payload.to_vec()))
    }

    /// Queues a reliable message to the peer `to`, fragmented as needed (up to the configured
    /// `max_message_size`). Its outcome arrives later in a batch under `token`: Delivered when the peer
    /// acknowledged it, Failed when it did not by `deadline` (default: the configured one) or went away,
    /// Refused when the I/O thread could not take it (unknown peer; send queue full, with the payload handed
    /// back in the batch's `buffers` to offer it again). `Ok(false)` when
    /// the command queue is full (nothing was queued and nothing will be reported).
    pub fn send_reliable(
        &self,
        to: EndpointId,
        payload: Vec<u8>,
        token: u32,
        deadline: Option<Duration>,
    ) -> Result<bool, Error> {
        self.check_reliable(&payload)?;
        self.post(Command::SendReliable { to, payload, token, deadline })
    }

    /// Queues a reliable message to every peer (one multicast, repaired per receiver); reported like
    /// [`Endpoint::send_reliable`].
    pub fn broadcast_reliable(
        &self,
        payload: Vec<u8>,
        token: u32,
        deadline: Option<Duration>,
    ) -> Result<bool, Error> {
        self.check_reliable(&payload)?;
        self.post(Command::BroadcastReliable { payload, token, deadline })
    }

    /// Queues the messages of a slab (records as described in [`crate::slab`]) as one command: each record
    /// is then exactly one [`Endpoint::send_reliable`] / [`Endpoint::broadcast_reliable`] (reported under
    /// its token) or [`Endpoint::send`] / [`Endpoint::broadcast`], in order. The slab is validated first
    /// (nothing is queued from a bad one) and copied once. `Ok(false)` when the command queue is full:
    /// nothing is queued, nothing reported, and its best-effort records are counted in
    /// `dropped_send_queue_full`.
    pub fn send_slab(&self, slab: &[u8]) -> Result<bool, Error> {
        if self.shared.mailbox.close_requested() {
            return Err(Error::Closed);
        }
        let counts = crate::slab::validate_slab(slab, self.max_message_size, self.max_payload)?;
        if counts.total() == 0 {
            return Ok(true);
        }
        // A few messages (request/response, interactive traffic) go out at once from this thread; a big slab
        // (a stream) goes to the I/O thread, so that the sender and the protocol work run on two cores.
        if counts.total() <= DIRECT_MAX_RECORDS && self.send_directly(slab) {
            return Ok(true);
        }
        match self.shared.mailbox.post(Command::Slab(slab.to_vec())) {
            Posted::Queued => Ok(true),
            Posted::Full => {
                self.shared.stats.count_queue_full_n(counts.best_effort as u64);
                Ok(false)
            }
            Posted::Closed => Err(Error::Closed),
        }
    }

    /// Applies a slab and sends its datagrams on this thread, when the I/O thread is waiting, no command is
    /// queued ahead and the socket takes datagrams; false (nothing done) otherwise. Wakes the I/O thread
    /// only when it has something to do (see [`Endpoint::wake_if_needed`]).
    fn send_directly(&self, slab: &[u8]) -> bool {
        let shared = &*self.shared;
        let Ok(mut engine) = shared.engine.try_lock() else { return false };
        let now = Instant::now();
        if !shared.mailbox.is_empty() || !engine.can_send(now) {
            return false;
        }
        let Some(unsent) = engine.send_slab_directly(now, slab) else { return false };
        self.wake_if_needed(engine, unsent);
        true
    }

    /// After a thread other than the I/O thread drove the engine (a direct send, a caller's round): unlocks
    /// it, then wakes the I/O thread when it has something to do — datagrams the socket did not take
    /// (`unsent`), a timer earlier than the one it waits for, or (when it delivers) events — and notifies the
    /// caller of leftover events when the caller delivers.
    pub(crate) fn wake_if_needed(&self, engine: MutexGuard<'_, Engine>, unsent: bool) {
        let shared = &*self.shared;
        let timer = engine.core.poll_timeout().is_some_and(|t| shared.wake_time.later_than(t));
        let events = engine.has_events();
        drop(engine);
        let notify = self.notifier.as_ref().filter(|_| events);
        if unsent || timer || (events && notify.is_none()) {
            shared.mailbox.wake();
        }
        if let Some(notifier) = notify {
            notifier.notify();
        }
    }

    /// Largest reliable message, bytes.
    pub fn max_message_size(&self) -> usize {
        self.max_message_size
    }

    /// Ignores the peer `id` from now on (the application's accept filter said no): its messages are
    /// dropped and counted (`dropped_rejected`) until it expires. Never dropped for a full queue.
    pub fn reject_peer(&self, id: EndpointId) -> Result<(), Error> {
        if self.shared.mailbox.close_requested() || !self.shared.mailbox.control(Control::Reject(id)) {
            return Err(Error::Closed);
        }
        Ok(())
    }

    /// Sets (or, with an empty `value`, removes) the announcement extension of type `kind`: every later
    /// announcement carries it and a short burst of announcements spreads it at once; peers see a
    /// `PeerChanged` event with the new value. Fails with [`Error::MessageTooLarge`] when the announcement
    /// would not fit into one datagram, [`Error::Closed`] after close.
    pub fn set_announce_extension(&self, kind: u8, value: &[u8]) -> Result<(), Error> {
        if self.shared.mailbox.close_requested() {
            return Err(Error::Closed);
        }
        let mut sizes = self.extension_sizes.lock().unwrap_or_else(|e| e.into_inner());
        let record = if value.is_empty() { 0 } else { 3 + value.len() };
        let others: usize = sizes.iter().sum::<usize>() - sizes[kind as usize];
        // The announcement body must fit into one datagram's submessage body, like a best-effort message
        // with its 4-byte DATA header.
        let max = self.max_payload + 4;
        let size = self.announce_base + others + record;
        if value.len() > u16::MAX as usize || size > max {
            return Err(Error::MessageTooLarge { size, max });
        }
        let control = Control::SetAnnounceExtension { kind, value: value.to_vec() };
        if !self.shared.mailbox.control(control) {
            return Err(Error::Closed);
        }
        sizes[kind as usize] = record;
        Ok(())
    }

    /// Replaces the network keys: the first seals from now on, all are accepted (rotation without downtime: add the
    /// new key everywhere, then put it first everywhere, then remove the old one). Fails with
    /// [`Error::InvalidConfig`] for an empty list, a repeated key, or an endpoint opened without keys;
    /// [`Error::Closed`] after close.
    pub fn set_network_keys(&self, keys: Vec<glue_proto::seal::NetworkKey>) -> Result<(), Error> {
        if self.shared.mailbox.close_requested() {
            return Err(Error::Closed);
        }
        // Applied under the engine lock at once (rare), so that errors come back here.
        self.shared.lock_engine().core.set_network_keys(keys)?;
        Ok(())
    }

    /// Replaces the unicast peer addresses (see [`IoConfig::peers`]): new ones get an announcement at once. Fails
    /// with [`Error::InvalidConfig`] for a bad address (nothing changes), [`Error::Closed`] after close.
    pub fn set_peers(&self, peers: Vec<std::net::SocketAddr>) -> Result<(), Error> {
        if self.shared.mailbox.close_requested() {
            return Err(Error::Closed);
        }
        let mut engine = self.shared.lock_engine();
        engine.core.set_peers(peers)?;
        let unsent = true;
        self.wake_if_needed(engine, unsent);
        Ok(())
    }

    /// Round trip, resends and queue depths of every accepted peer (see [`glue_proto::PeerStats`]), computed now under
    /// the engine lock (briefly: O(peers)); for monitoring, not for every message.
    pub fn peer_stats(&self) -> Vec<glue_proto::PeerStats> {
        self.shared.lock_engine().core.peer_stats()
    }

    /// Measures the round trip to every accepted peer with one direct heartbeat each, timed until its ACK (see
    /// [`glue_proto::Core::probe_peers`]); [`Endpoint::peer_stats`] shows it once answered. Returns how many probes
    /// went out (a peer with one still unanswered gets none). [`Error::Closed`] after close.
    pub fn probe_peers(&self) -> Result<usize, Error> {
        if self.shared.mailbox.close_requested() {
            return Err(Error::Closed);
        }
        let mut engine = self.shared.lock_engine();
        let sent = engine.core.probe_peers(Instant::now());
        self.wake_if_needed(engine, sent > 0);
        Ok(sent)
    }

    /// The counters as of the I/O thread's latest loop iteration (the last ones after close).
    pub fn stats(&self) -> EndpointStats {
        self.shared.stats.read()
    }

    /// Whether close was requested.
    pub fn is_closed(&self) -> bool {
        self.shared.mailbox.close_requested()
    }

    /// Sends the goodbye, stops the I/O thread and closes the sockets; returns when all that is done.
    /// Idempotent: later (or concurrent) calls wait for the same close. Must not be called on the thread
    /// that consumes batches while the sink blocks on that consumer.
    pub fn close(&self) {
        self.shared.mailbox.request_close();
        if let Some(handle) = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take() {
            // A panic of the I/O thread (only possible in the sink) has nothing more to clean up.
            let _ = handle.join();
        }
        // The thread may have been detached by `close_in_background`.
        self.wait_exited(None);
    }

    /// Like [`Endpoint::close`] but waits at most `timeout`; returns whether the thread has exited (else
    /// it finishes on its own). For shutdown paths that must not hang, e.g. when the sink may be blocked on
    /// a consumer that is itself shutting down.
    pub fn close_timeout(&self, timeout: Duration) -> bool {
        self.shared.mailbox.request_close();
        let exited = self.wait_exited(Some(Instant::now() + timeout));
        if let Ok(mut thread) = self.thread.try_lock() {
            if let Some(handle) = thread.take().filter(|_| exited) {
                let _ = handle.join();
            }
        }
        exited
    }

    /// Like [`Endpoint::close`] but returns at once without blocking: the I/O thread says goodbye,
    /// closes the sockets and exits on its own. For contexts that must not block (finalizers, the
    /// consumer's own thread).
    pub fn close_in_background(&self) {
        self.shared.mailbox.request_close();
        if let Ok(mut thread) = self.thread.try_lock() {
            drop(thread.take()); // detaches
        }
    }

    fn wait_exited(&self, deadline: Option<Instant>) -> bool {
        while !self.shared.exited.load(Ordering::SeqCst) {
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return false;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        true
    }

    fn check(&self, payload: &[u8]) -> Result<(), Error> {
        if self.shared.mailbox.close_requested() {
            return Err(Error::Closed);
        }
        if payload.len() > self.max_payload {
            return Err(Error::MessageTooLarge { size: payload.len(), max: self.max_payload });
        }
        Ok(())
    }

    fn check_reliable(&self, payload: &[u8]) -> Result<(), Error> {
        if self.shared.mailbox.close_requested() {
            return Err(Error::Closed);
        }
        if payload.len() > self.max_message_size {
            return Err(Error::MessageTooLarge { size: payload.len(), max: self.max_message_size });
        }
        Ok(())
    }

    fn post(&self, command: Command) -> Result<bool, Error> {
        match self.shared.mailbox.post(command) {
            Posted::Queued => Ok(true),
            Posted::Full => {
                self.shared.stats.count_queue_full();
                Ok(false)
            }
            Posted::Closed => Err(Error::Closed),
        }
    }
}

impl Drop for Endpoint {
    /// Closes like [`Endpoint::close`], except after [`Endpoint::close_in_background`] or a timed-out
    /// [`Endpoint::close_timeout`]: the detached thread then finishes on its own and drop does not wait.
    fn drop(&mut self) {
        self.shared.mailbox.request_close();
        if let Some(handle) = self.thread.get_mut().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = handle.join();
        }
    }
}

/// "glue-io-<name>" without characters an OS thread name cannot hold (the OS may shorten it further).
fn thread_name(name: &str) -> String {
    let clean: String = name.chars().map(|c| if c.is_control() { '_' } else { c }).collect();
    format!("glue-io-{clean}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn thread_names_have_no_control_characters() {
        assert_eq!(super::thread_name("a\0b\n"), "glue-io-a_b_");
    }
}
