//! Helpers for the loopback tests: a random group per test, endpoints tuned for fast discovery, and a
//! sink that records everything for `wait_until`. Endpoints opened here are read by the I/O thread, or by a
//! caller thread when `GLUE_IO_TEST_RECEIVE=caller` (see [`caller`]).
#![allow(dead_code)]

mod caller;

#[allow(unused_imports)] // not every test file uses all of them
pub use caller::{open_in, poll_readable, receive_mode, Caller, CallerState, Ep};

use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use glue_io::{DownReason, EndpointId, Event, InboundBatch, IoConfig};
use socket2::{Domain, Protocol, Socket, Type};

/// How long any wait may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(10);

/// A group 239.192.137.x with a port in 20000..60000, different for every call.
pub fn unique_group() -> SocketAddrV4 {
    let r = glue_io::random_u64();
    let port = 20_000 + (r % 40_000) as u16;
    SocketAddrV4::new(Ipv4Addr::new(239, 192, 137, 1 + ((r >> 32) % 254) as u8), port)
}

/// A loopback configuration announcing every 50 ms.
pub fn config(name: &str, group: SocketAddrV4) -> IoConfig {
    let mut c = IoConfig::new(name, group);
    c.announce_period = Duration::from_millis(50);
    c
}

/// One thing an endpoint reported.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Message { from: EndpointId, broadcast: bool, data: Vec<u8> },
    Event(Event),
}

/// Records the batches of one endpoint.
pub struct Log {
    rx: Receiver<InboundBatch>,
    pub items: Vec<Item>,
    /// Batches that held at least one message.
    pub message_batches: usize,
}

impl Log {
    /// A sink and the log it feeds.
    pub fn new() -> (impl FnMut(InboundBatch) -> bool + Send + 'static, Log) {
        let (tx, rx) = mpsc::channel();
        (move |batch| tx.send(batch).is_ok(), Log { rx, items: vec![], message_batches: 0 })
    }

    fn absorb(&mut self, batch: InboundBatch) {
        self.message_batches += usize::from(batch.entries.iter().any(|e| matches!(e.kind, 1 | 2)));
        for e in &batch.entries {
            assert!(matches!(e.kind, 1..=3), "entry kind {}", e.kind);
        }
        let mut events = batch.events.clone().into_iter();
        for e in &batch.entries {
            if e.kind == 3 {
                assert_eq!(e.a as usize, batch.events.len() - events.len(), "events in order");
                self.items.push(Item::Event(events.next().expect("event index")));
            } else {
                let (from, broadcast) = (batch.peer_ids[e.a as usize], e.kind == 2);
                let data = batch.data[e.b as usize..(e.b + e.c) as usize].to_vec();
                self.items.push(Item::Message { from, broadcast, data });
            }
        }
    }

    /// Waits until `done` holds for the items recorded so far; panics after [`WAIT`].
    pub fn wait_until(&mut self, what: &str, mut done: impl FnMut(&[Item]) -> bool) {
        let deadline = Instant::now() + WAIT;
        while !done(&self.items) {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "timed out waiting for {what}; got {:#?}", self.items);
            if let Ok(batch) = self.rx.recv_timeout(left.min(Duration::from_millis(50))) {
                self.absorb(batch);
            }
        }
    }

    /// Waits for a peer-up of `id`.
    pub fn wait_peer_up(&mut self, id: EndpointId) {
        self.wait_until("peer up", |items| {
            items.iter().any(|i| matches!(i, Item::Event(Event::PeerUp(p)) if p.id == id))
        });
    }

    /// Waits for a message with these contents.
    pub fn wait_message(&mut self, from: EndpointId, broadcast: bool, data: &[u8]) {
        let want = Item::Message { from, broadcast, data: data.to_vec() };
        self.wait_until("message", |items| items.contains(&want));
    }

    /// Waits for the peer-down of `id` with `reason`.
    pub fn wait_peer_down(&mut self, id: EndpointId, reason: DownReason) {
        self.wait_until("peer down", |items| {
            items.iter().any(|i| matches!(i, Item::Event(Event::PeerDown { peer, reason: r }) if peer.id == id && *r == reason))
        });
    }
}

/// Opens an endpoint (in the [`receive_mode`] of this run) and its log.
pub fn open(config: IoConfig) -> (Ep, Log) {
    let (sink, log) = Log::new();
    (open_sink(config, sink), log)
}

/// Opens an endpoint in the [`receive_mode`] of this run, delivering to `sink`.
pub fn open_sink(config: IoConfig, sink: impl FnMut(InboundBatch) -> bool + Send + 'static) -> Ep {
    open_in(receive_mode(), config, sink).expect("open endpoint")
}

/// Opens endpoints on one group and waits until each has seen every other one.
pub fn open_mesh(names: &[&str]) -> Vec<(Ep, Log)> {
    let group = unique_group();
    let mut all: Vec<_> = names.iter().map(|n| open(config(n, group))).collect();
    let ids: Vec<_> = all.iter().map(|(e, _)| e.id()).collect();
    for (ep, log) in &mut all {
        for id in &ids {
            if *id != ep.id() {
                log.wait_peer_up(*id);
            }
        }
    }
    all
}

/// A plain UDP socket on 127.0.0.1 whose multicast goes out on loopback only.
pub fn loopback_sender() -> UdpSocket {
    let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP)).unwrap();
    s.set_multicast_if_v4(&Ipv4Addr::LOCALHOST).unwrap();
    s.bind(&SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0).into()).unwrap();
    s.into()
}

/// A plain UDP socket listening on `group` via loopback.
pub fn group_listener(group: SocketAddrV4) -> UdpSocket {
    let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP)).unwrap();
    s.set_reuse_address(true).unwrap();
    #[cfg(unix)]
    s.set_reuse_port(true).unwrap();
    s.bind(&group.into()).unwrap();
    s.join_multicast_v4(group.ip(), &Ipv4Addr::LOCALHOST).unwrap();
    s.into()
}

/// Polls `f` until it holds; panics after [`WAIT`].
pub fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Names of this process's threads (Linux).
pub fn thread_names() -> Vec<String> {
    std::fs::read_dir("/proc/self/task")
        .map(|dir| {
            dir.filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
                .map(|s| s.trim_end().to_owned())
                .collect()
        })
        .unwrap_or_default()
}
