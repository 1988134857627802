//! [`ReceiveMode::Caller`] on loopback: a caller thread (see `common::caller`) reads the sockets itself.
//! Messages arrive exactly once and in order whichever thread reads, batches the I/O thread makes reach the
//! caller in the order they were made, a caller that stalls keeps its peers, and closing says goodbye without
//! anyone reading after the caller stopped.
#![cfg(unix)]

mod common;

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, Instant};

use common::{open_in, Ep};
use glue_io::slab::{push_record, SlabRecord};
use glue_io::{DownReason, Endpoint, EndpointId, EntryKind, Event, InboundBatch, IoConfig, ReceiveMode};

const CALLER: ReceiveMode = ReceiveMode::Caller;
const IO: ReceiveMode = ReceiveMode::IoThread;

/// Stream tags in the first payload byte.
const RELIABLE: u8 = 1;
const BEST_EFFORT: u8 = 2;
const SIDE_STREAM: u8 = 3;

fn payload(stream: u8, i: u32) -> Vec<u8> {
    let mut p = vec![stream];
    p.extend_from_slice(&i.to_le_bytes());
    p
}

fn parse(data: &[u8]) -> Option<(u8, u32)> {
    Some((*data.first()?, u32::from_le_bytes(data.get(1..5)?.try_into().ok()?)))
}

/// One batch, summarised.
#[derive(Debug, Default)]
struct BatchSummary {
    seq: u64,
    messages: usize,
    failed: usize,
    refused: usize,
}

/// Everything one endpoint reported.
#[derive(Debug, Default)]
struct Got {
    batches: Vec<BatchSummary>,
    /// (sender, stream, number) of every message.
    messages: Vec<(EndpointId, u8, u32)>,
    delivered: Vec<u32>,
    failed: Vec<u32>,
    refused: Vec<u32>,
    events: Vec<Event>,
}

impl Got {
    /// The numbers of `stream` from `from`, in arrival order.
    fn stream(&self, from: EndpointId, stream: u8) -> Vec<u32> {
        self.messages.iter().filter(|m| m.0 == from && m.1 == stream).map(|m| m.2).collect()
    }

    fn count(&self, from: EndpointId, stream: u8) -> usize {
        self.messages.iter().filter(|m| m.0 == from && m.1 == stream).count()
    }

    fn peer_up(&self, id: EndpointId) -> bool {
        self.events.iter().any(|e| matches!(e, Event::PeerUp(p) if p.id == id))
    }

    fn peer_down(&self, id: EndpointId) -> Option<DownReason> {
        self.events.iter().find_map(|e| match e {
            Event::PeerDown { peer, reason } if peer.id == id => Some(*reason),
            _ => None,
        })
    }
}

/// Records the batches of one endpoint, checking that each batch comes once and in the order it was made.
struct Recorder {
    rx: Receiver<InboundBatch>,
    got: Got,
}

impl Recorder {
    fn new() -> (impl FnMut(InboundBatch) -> bool + Send + 'static, Recorder) {
        let (tx, rx) = mpsc::channel();
        (move |batch| tx.send(batch).is_ok(), Recorder { rx, got: Got::default() })
    }

    fn absorb(&mut self, batch: InboundBatch) {
        let last = self.got.batches.last().map_or(0, |b| b.seq);
        assert_eq!(batch.seq, last + 1, "batches each once and in the order they were made");
        let mut summary = BatchSummary { seq: batch.seq, ..BatchSummary::default() };
        for e in &batch.entries {
            let data = match e.kind {
                k if k == EntryKind::Delivered as u32 => {
                    self.got.delivered.push(e.a);
                    continue;
                }
                k if k == EntryKind::Failed as u32 => {
                    self.got.failed.push(e.a);
                    summary.failed += 1;
                    continue;
                }
                k if k == EntryKind::Refused as u32 => {
                    self.got.refused.push(e.a);
                    summary.refused += 1;
                    continue;
                }
                k if k == EntryKind::PeerEvent as u32 => {
                    self.got.events.push(batch.events[e.a as usize].clone());
                    continue;
                }
                k if k == EntryKind::Owned as u32 => &batch.buffers[e.b as usize][..],
                _ => &batch.data[e.b as usize..(e.b + e.c) as usize],
            };
            let (stream, i) = parse(data).expect("a test payload");
            self.got.messages.push((batch.peer_ids[e.a as usize], stream, i));
            summary.messages += 1;
        }
        self.got.batches.push(summary);
    }

    /// Waits until `done` holds; panics after [`common::WAIT`].
    fn wait(&mut self, what: &str, mut done: impl FnMut(&Got) -> bool) {
        let deadline = Instant::now() + common::WAIT;
        while !done(&self.got) {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "timed out waiting for {what}");
            if let Ok(batch) = self.rx.recv_timeout(left.min(Duration::from_millis(50))) {
                self.absorb(batch);
            }
        }
    }

    /// Takes whatever arrives within `time`.
    fn settle(&mut self, time: Duration) {
        let until = Instant::now() + time;
        self.wait("nothing", |_| Instant::now() >= until);
    }
}

fn open(mode: ReceiveMode, name: &str, group: std::net::SocketAddrV4) -> (Ep, Recorder) {
    open_with(mode, common::config(name, group))
}

fn open_with(mode: ReceiveMode, config: IoConfig) -> (Ep, Recorder) {
    let (sink, rec) = Recorder::new();
    (open_in(mode, config, sink).expect("open"), rec)
}

/// Two endpoints that have seen each other.
fn pair(mode_a: ReceiveMode, mode_b: ReceiveMode, name: &str) -> [(Ep, Recorder); 2] {
    let group = common::unique_group();
    let (a, mut a_rec) = open(mode_a, &format!("{name}-a"), group);
    let (b, mut b_rec) = open(mode_b, &format!("{name}-b"), group);
    a_rec.wait("a sees b", |g| g.peer_up(b.id()));
    b_rec.wait("b sees a", |g| g.peer_up(a.id()));
    [(a, a_rec), (b, b_rec)]
}

/// Retries a send that found the command queue full (nothing was queued then).
fn retry(mut send: impl FnMut() -> Result<bool, glue_io::Error>) {
    while !send().expect("send") {
        std::thread::sleep(Duration::from_micros(200));
    }
}

/// Sends `reliable` reliable and `best_effort` best-effort messages to `to`, numbered from 0 per stream
/// (tokens = numbers), mixing every path: single commands, small slabs (sent directly by this thread when
/// the I/O thread is idle) and large slabs (through the I/O thread).
fn send_streams(from: &Endpoint, to: EndpointId, reliable: u32, best_effort: u32) {
    let (mut r, mut b) = (0u32, 0u32);
    let mut chunk = 0u32;
    while r < reliable || b < best_effort {
        let n = [8, 8, 50][chunk as usize % 3].min(reliable - r);
        match chunk % 3 {
            0 => {
                for i in r..r + n {
                    retry(|| from.send_reliable(to, payload(RELIABLE, i), i, None));
                }
            }
            _ => {
                let mut slab = Vec::new();
                let payloads: Vec<_> = (r..r + n).map(|i| (i, payload(RELIABLE, i))).collect();
                for (i, p) in &payloads {
                    let record = SlabRecord {
                        token: *i,
                        to: Some(to),
                        deadline: None,
                        best_effort: false,
                        payload: p,
                    };
                    push_record(&mut slab, &record);
                }
                retry(|| from.send_slab(&slab));
            }
        }
        r += n;
        let m = 10.min(best_effort - b);
        if chunk.is_multiple_of(2) {
            for i in b..b + m {
                retry(|| from.send(to, &payload(BEST_EFFORT, i)));
            }
        } else {
            let mut slab = Vec::new();
            let payloads: Vec<_> = (b..b + m).map(|i| payload(BEST_EFFORT, i)).collect();
            for p in &payloads {
                let record =
                    SlabRecord { token: 0, to: Some(to), deadline: None, best_effort: true, payload: p };
                push_record(&mut slab, &record);
            }
            retry(|| from.send_slab(&slab));
        }
        b += m;
        chunk += 1;
        if chunk.is_multiple_of(20) {
            // Best effort has no flow control: leave the receiver time to read.
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

/// Both directions at once, thousands of messages each: every one once and in order, every reliable one
/// reported delivered once.
fn exchange(mode_a: ReceiveMode, mode_b: ReceiveMode, name: &str) {
    const RELIABLE_N: u32 = 3000;
    const BEST_EFFORT_N: u32 = 2000;
    let [(a, mut a_rec), (b, mut b_rec)] = pair(mode_a, mode_b, name);
    std::thread::scope(|s| {
        s.spawn(|| send_streams(&a, b.id(), RELIABLE_N, BEST_EFFORT_N));
        s.spawn(|| send_streams(&b, a.id(), RELIABLE_N, BEST_EFFORT_N));
    });
    let everything = |from: EndpointId| {
        move |g: &Got| {
            g.count(from, RELIABLE) >= RELIABLE_N as usize
                && g.count(from, BEST_EFFORT) >= BEST_EFFORT_N as usize
                && g.delivered.len() >= RELIABLE_N as usize
        }
    };
    a_rec.wait("everything from b", everything(b.id()));
    b_rec.wait("everything from a", everything(a.id()));
    a_rec.settle(Duration::from_millis(100));
    b_rec.settle(Duration::from_millis(10));
    for (rec, from) in [(&a_rec, b.id()), (&b_rec, a.id())] {
        assert_eq!(rec.got.stream(from, RELIABLE), (0..RELIABLE_N).collect::<Vec<_>>(), "reliable");
        assert_eq!(rec.got.stream(from, BEST_EFFORT), (0..BEST_EFFORT_N).collect::<Vec<_>>(), "best effort");
        let mut delivered = rec.got.delivered.clone();
        delivered.sort_unstable();
        assert_eq!(delivered, (0..RELIABLE_N).collect::<Vec<_>>(), "each token reported once");
        assert!(rec.got.failed.is_empty() && rec.got.refused.is_empty(), "{:?}", rec.got.refused);
        assert_eq!(rec.got.peer_down(from), None);
    }
    for ep in [&a, &b] {
        if let Some(caller) = &ep.caller {
            assert!(caller.state.rounds.load(Ordering::SeqCst) > 0, "the caller read");
        }
        let stats = ep.stats();
        assert_eq!((stats.recv_errors, stats.send_errors), (0, 0), "{stats:?}");
    }
}

#[test]
fn a_caller_and_an_io_endpoint_exchange_thousands_in_order() {
    exchange(CALLER, IO, "xio");
}

#[test]
fn two_callers_exchange_thousands_in_order() {
    exchange(CALLER, CALLER, "xcc");
}

/// The voluntary context switches of this process's thread named `name` (Linux).
#[cfg(target_os = "linux")]
fn context_switches(name: &str) -> u64 {
    for task in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        if std::fs::read_to_string(task.path().join("comm")).is_ok_and(|c| c.trim_end() == name) {
            let status = std::fs::read_to_string(task.path().join("status")).unwrap();
            let line = status.lines().find(|l| l.starts_with("voluntary_ctxt_switches:")).unwrap();
            return line.split_whitespace().nth(1).unwrap().parse().unwrap();
        }
    }
    panic!("no thread {name}");
}

/// The goal of caller mode: a request answered from the caller's thread (from the batch callback, as a
/// JavaScript handler would) does not wake the I/O thread — neither to read the request nor to send the reply.
#[test]
#[cfg(target_os = "linux")]
fn replies_from_the_caller_thread_leave_the_io_thread_asleep() {
    const ROUND_TRIPS: u32 = 500;
    let group = common::unique_group();
    let me: Arc<OnceLock<Weak<Endpoint>>> = Arc::default();
    let echo = {
        let me = me.clone();
        let mut last = 0;
        // Echo every message back from the caller's thread, as a handler would.
        move |batch: InboundBatch| {
            assert_eq!(batch.seq, last + 1, "batches each once and in order");
            last = batch.seq;
            let Some(ep) = me.get().and_then(Weak::upgrade) else { return true };
            let mut slab = Vec::new();
            for (from, _, data) in batch.messages() {
                let (_, i) = parse(data).unwrap();
                let record = SlabRecord {
                    token: i,
                    to: Some(from),
                    deadline: None,
                    best_effort: false,
                    payload: data,
                };
                push_record(&mut slab, &record);
            }
            if !slab.is_empty() {
                retry(|| ep.send_slab(&slab));
            }
            true
        }
    };
    let a = open_in(CALLER, common::config("wk7q2a", group), echo).unwrap();
    me.set(Arc::downgrade(a.endpoint())).unwrap();
    let (b, mut b_rec) = open(IO, "wk7q2b", group);
    b_rec.wait("b sees a", |g| g.peer_up(a.id()));
    // Until a has seen b, it cannot answer.
    let deadline = Instant::now() + common::WAIT;
    while b_rec.got.count(a.id(), SIDE_STREAM) == 0 {
        assert!(Instant::now() < deadline, "a never answered");
        b.send_reliable(a.id(), payload(SIDE_STREAM, 0), 0, None).unwrap();
        b_rec.settle(Duration::from_millis(20));
    }
    b_rec.settle(Duration::from_millis(100));
    let start = context_switches("glue-io-wk7q2a");
    let started = Instant::now();
    for i in 1..=ROUND_TRIPS {
        b.send_reliable(a.id(), payload(RELIABLE, i), i, None).unwrap();
        b_rec.wait("the echo", |g| g.count(a.id(), RELIABLE) == i as usize);
    }
    let elapsed = started.elapsed();
    let switches = context_switches("glue-io-wk7q2a") - start;
    eprintln!("{ROUND_TRIPS} round trips in {elapsed:?}: the caller-mode I/O thread woke {switches} times");
    assert_eq!(b_rec.got.stream(a.id(), RELIABLE), (1..=ROUND_TRIPS).collect::<Vec<_>>());
    // Timers only: announcements every 50 ms, a stale retransmission deadline now and then.
    let timers = elapsed.as_millis() as u64 / 10 + 20;
    assert!(
        switches < timers.max(ROUND_TRIPS as u64 / 10),
        "{switches} wake-ups for {ROUND_TRIPS} round trips"
    );
}

/// Batches the I/O thread makes (a `Failed` from a deadline while the caller is busy, a `Refused` for a
/// command) are delivered between the caller's own batches, in the order they were made.
#[test]
fn io_thread_batches_keep_their_place_among_the_callers() {
    let group = common::unique_group();
    let (a, mut a_rec) = open(CALLER, "ord-a", group);
    let (b, mut b_rec) = open(CALLER, "ord-b", group);
    let (c, mut c_rec) = open(IO, "ord-c", group);
    a_rec.wait("a sees b and c", |g| g.peer_up(b.id()) && g.peer_up(c.id()));
    b_rec.wait("b sees a", |g| g.peer_up(a.id()));
    c_rec.wait("c sees a", |g| g.peer_up(a.id()));

    // c streams to a all along, so that a's caller makes batches before, between and after the I/O thread's.
    let stop = AtomicBool::new(false);
    let sent = AtomicU32::new(0);
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut i = 0;
            while !stop.load(Ordering::SeqCst) {
                retry(|| c.send(a.id(), &payload(SIDE_STREAM, i)));
                i += 1;
                sent.store(i, Ordering::SeqCst);
                std::thread::sleep(Duration::from_micros(300));
            }
        });
        a_rec.wait("some of the stream", |g| g.count(c.id(), SIDE_STREAM) > 50);
        // b does not read, so it never acknowledges; a's caller is busy past the deadline, so only a's I/O
        // thread can report the failures.
        b.caller().pause(true);
        for token in 0..10 {
            assert!(a
                .send_reliable(b.id(), payload(RELIABLE, token), token, Some(Duration::from_millis(100)))
                .unwrap());
        }
        a.caller().pause(true);
        std::thread::sleep(Duration::from_millis(400));
        a.caller().pause(false);
        a_rec.wait("the failures", |g| g.failed.len() == 10);
        // A command the I/O thread refuses, while the caller reads.
        assert!(a.send_reliable(EndpointId(0xdead), payload(RELIABLE, 99), 99, None).unwrap());
        a_rec.wait("the refusal", |g| g.refused == [99]);
        let so_far = a_rec.got.count(c.id(), SIDE_STREAM);
        a_rec.wait("more of the stream", |g| g.count(c.id(), SIDE_STREAM) > so_far + 20);
        stop.store(true, Ordering::SeqCst);
    });
    let sent = sent.load(Ordering::SeqCst);
    a_rec.wait("the whole stream", |g| g.count(c.id(), SIDE_STREAM) == sent as usize);
    b.caller().pause(false);

    assert_eq!(a_rec.got.stream(c.id(), SIDE_STREAM), (0..sent).collect::<Vec<_>>(), "once, in order");
    let mut failed = a_rec.got.failed.clone();
    failed.sort_unstable();
    assert_eq!(failed, (0..10).collect::<Vec<_>>());
    // The I/O thread's batches sit between batches of the caller's (the order itself was checked batch by
    // batch: each came with the next number).
    let batches = &a_rec.got.batches;
    let first_failed = batches.iter().position(|b| b.failed > 0).unwrap();
    let refused = batches.iter().position(|b| b.refused > 0).unwrap();
    for at in [first_failed, refused] {
        assert!(batches[..at].iter().any(|b| b.messages > 0), "caller batches before {at}: {batches:?}");
        assert!(batches[at + 1..].iter().any(|b| b.messages > 0), "caller batches after {at}: {batches:?}");
    }
    // Nobody expired while a and b did not read.
    assert_eq!(a_rec.got.peer_down(b.id()), None);
    assert_eq!(a_rec.got.peer_down(c.id()), None);
    c_rec.settle(Duration::from_millis(10));
    assert_eq!(c_rec.got.peer_down(a.id()), None);
}

/// A caller that runs no round for three times the peer expiry keeps its peers up on both sides (its I/O
/// thread announces, and extends the leases of peers whose announcements wait unread), reads nothing
/// meanwhile, and then gets everything in order.
fn stalled_caller(mode_b: ReceiveMode, name: &str) {
    const N: u32 = 300;
    let [(a, mut a_rec), (b, mut b_rec)] = pair(CALLER, mode_b, name);
    let expiry = Duration::from_millis(150); // 50 ms announcements × 3
    a.caller().pause(true);
    std::thread::sleep(Duration::from_millis(20));
    let read_before = a.stats().core.datagrams_received;
    send_streams(&b, a.id(), N, N);
    for token in 0..N / 3 {
        assert!(a.send_reliable(b.id(), payload(RELIABLE, token), token, None).unwrap());
    }
    std::thread::sleep(expiry * 4);
    assert_eq!(a.stats().core.datagrams_received, read_before, "nobody read while the caller was busy");
    let [unicast, _] = a.caller_sockets().unwrap();
    use std::os::fd::AsRawFd;
    assert_eq!(common::poll_readable(&[unicast.as_raw_fd()], 0), [true], "datagrams wait");
    drop(unicast);
    a.caller().pause(false);

    a_rec.wait("everything from b", |g| {
        g.count(b.id(), RELIABLE) == N as usize && g.count(b.id(), BEST_EFFORT) == N as usize
    });
    b_rec.wait("everything from a", |g| {
        g.count(a.id(), RELIABLE) == (N / 3) as usize && g.delivered.len() == N as usize
    });
    a_rec.wait("a's reports", |g| g.delivered.len() == (N / 3) as usize);
    assert_eq!(a_rec.got.stream(b.id(), RELIABLE), (0..N).collect::<Vec<_>>());
    assert_eq!(a_rec.got.stream(b.id(), BEST_EFFORT), (0..N).collect::<Vec<_>>());
    assert_eq!(b_rec.got.stream(a.id(), RELIABLE), (0..N / 3).collect::<Vec<_>>());
    b_rec.settle(Duration::from_millis(50));
    assert_eq!(a_rec.got.peer_down(b.id()), None, "a kept b");
    assert_eq!(b_rec.got.peer_down(a.id()), None, "b kept a");
}

#[test]
fn a_stalled_caller_keeps_an_io_peer_and_catches_up() {
    stalled_caller(IO, "stio");
}

#[test]
fn a_stalled_caller_keeps_a_caller_peer_and_catches_up() {
    stalled_caller(CALLER, "stcc");
}

/// Closing while the caller receives a stream: after `stop_caller` nobody reads (the caller's rounds say
/// so, the I/O thread does not read either), and the peer sees the goodbye.
fn close_while_receiving(mode_b: ReceiveMode, name: &str) {
    let [(a, mut a_rec), (b, mut b_rec)] = pair(CALLER, mode_b, name);
    let probe = a.caller_sockets().unwrap();
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut i = 0;
            while !stop.load(Ordering::SeqCst) {
                let _ = b.send(a.id(), &payload(SIDE_STREAM, i));
                i += 1;
                std::thread::sleep(Duration::from_micros(200));
            }
        });
        a_rec.wait("the stream", |g| g.count(b.id(), SIDE_STREAM) > 100);

        a.endpoint().stop_caller();
        let state = &a.caller().state;
        common::eventually("the caller stops polling", || state.released.load(Ordering::SeqCst));
        std::thread::sleep(Duration::from_millis(30));
        let read = a.stats().core.datagrams_received;
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(a.stats().core.datagrams_received, read, "no read after stop");
        use std::os::fd::AsRawFd;
        assert_eq!(common::poll_readable(&[probe[0].as_raw_fd()], 0), [true], "the stream waits unread");
        let mut out = Vec::new();
        let round = a.receive_here(&mut out);
        assert!(!round.reading, "{round:?}");
        assert_eq!(a.stats().core.datagrams_received, read, "a round after stop reads nothing");
        assert!(state.stopped_rounds.load(Ordering::SeqCst) > 0);
        // What the endpoint still reports (a refused send) is delivered, and rounds do not spin.
        let mut slab = Vec::new();
        let nobody = payload(RELIABLE, 7);
        push_record(
            &mut slab,
            &SlabRecord {
                token: 7,
                to: Some(EndpointId(0xdead)),
                deadline: None,
                best_effort: false,
                payload: &nobody,
            },
        );
        assert!(a.send_slab(&slab).unwrap());
        a_rec.wait("the refusal after stop", |g| g.refused == [7]);
        let rounds = state.rounds.load(Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(200));
        let idle_rounds = state.rounds.load(Ordering::SeqCst) - rounds;
        assert!(idle_rounds < 20, "{idle_rounds} rounds in 200 ms with nothing to do");
        stop.store(true, Ordering::SeqCst);
    });
    a_rec.settle(Duration::from_millis(10)); // what was delivered before the stop
    let got = a_rec.got.count(b.id(), SIDE_STREAM);
    a.close();
    b_rec.wait("the goodbye", |g| g.peer_down(a.id()) == Some(DownReason::Left));
    assert!(a.caller_sockets().is_err(), "closed");
    let mut out = Vec::new();
    assert!(!a.receive_here(&mut out).reading);
    a_rec.settle(Duration::from_millis(10));
    assert_eq!(a_rec.got.count(b.id(), SIDE_STREAM), got, "nothing delivered after stop");
    let seen = a_rec.got.stream(b.id(), SIDE_STREAM);
    assert_eq!(seen, (0..seen.len() as u32).collect::<Vec<_>>(), "what came came once, in order");
    // The caller's own duplicates keep the port; closing them frees it.
    let addr = a.local_addr();
    drop(probe);
    std::net::UdpSocket::bind(addr).expect("unicast port free once every duplicate is closed");
}

#[test]
fn close_while_receiving_from_an_io_peer() {
    close_while_receiving(IO, "clio");
}

#[test]
fn close_while_receiving_from_a_caller_peer() {
    close_while_receiving(CALLER, "clcc");
}

/// Heavy traffic (a stream of large messages) moves reading to the I/O thread, light traffic brings it back
/// to the caller; messages arrive once and in order across both moves, twice over.
#[test]
fn heavy_traffic_moves_reading_to_the_io_thread_and_back() {
    const LARGE: usize = 256 << 10;
    let [(a, mut a_rec), (b, mut b_rec)] = pair(CALLER, IO, "heavy");
    let mut next = 0u32;
    for round in 1..=2u64 {
        // Bursts of large messages until the caller hands reading over (≥ 2 MiB read within 10 ms).
        let deadline = Instant::now() + common::WAIT;
        while a.stats().reading_to_io_thread < round {
            assert!(Instant::now() < deadline, "reading never moved to the I/O thread: {:?}", a.stats());
            for _ in 0..32 {
                let mut big = payload(RELIABLE, next);
                big.resize(LARGE, 0xab);
                retry(|| b.send_reliable(a.id(), big.clone(), next, None));
                next += 1;
            }
            let sent = next as usize;
            a_rec.wait("the burst", |g| g.count(b.id(), RELIABLE) == sent);
        }
        // Quiet: reading comes back after a light window, and a small message is read by the caller.
        common::eventually("reading back at the caller", || a.stats().reading_to_caller == round);
        let rounds = a.caller().state.rounds.load(Ordering::SeqCst);
        retry(|| b.send(a.id(), &payload(SIDE_STREAM, round as u32)));
        a_rec.wait("the small message", |g| g.count(b.id(), SIDE_STREAM) == round as usize);
        assert!(a.caller().state.rounds.load(Ordering::SeqCst) > rounds, "the caller read it");
        assert_eq!(a.stats().reading_to_io_thread, round, "light traffic stays with the caller");
    }
    b_rec.wait("every report", |g| g.delivered.len() == next as usize);
    assert_eq!(a_rec.got.stream(b.id(), RELIABLE), (0..next).collect::<Vec<_>>(), "once and in order");
    assert_eq!(a_rec.got.peer_down(b.id()), None);
}

#[test]
fn the_modes_are_not_mixed_up() {
    let group = common::unique_group();
    let mut config = common::config("mix", group);
    config.receive = CALLER;
    match Endpoint::open(config.clone(), |_| true) {
        Err(glue_io::Error::InvalidConfig(e)) => assert_eq!(e.field, "receive"),
        other => panic!("{other:?}"),
    }
    // open_caller sets the mode whatever the configuration says.
    config.receive = IO;
    let caller = Endpoint::open_caller(config.clone(), || {}).unwrap();
    assert_eq!(caller.caller_sockets().map(|fds| fds.len()).ok(), Some(2));
    caller.close();
    let io = Endpoint::open(config, |_| true).unwrap();
    let mut out = Vec::new();
    assert_eq!(io.receive_here(&mut out), glue_io::Round::default(), "the I/O thread reads here");
    assert!(out.is_empty());
    assert_eq!(io.caller_sockets().unwrap_err().kind(), std::io::ErrorKind::Unsupported);
    io.after_round();
    io.stop_caller();
    assert!(io.send(io.id(), b"x").unwrap(), "stop_caller does nothing to an I/O-thread endpoint");
}
