//! A deterministic in-memory network for driving several cores with a virtual clock, with seeded loss,
//! duplication, reordering (random extra delay) and a partition switch, as quinn-proto's tests do.
#![allow(dead_code)]

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use glue_proto::{Core, CoreConfig, EndpointId, Event};

/// The multicast group every simulated node listens on.
pub const GROUP: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(239, 192, 137, 1)), 37320);

/// Link behaviour; all probabilities in 0..=1.
#[derive(Debug, Clone, Copy)]
pub struct Faults {
    /// One-way delay of every datagram.
    pub delay: Duration,
    /// Extra random delay up to this (reorders datagrams).
    pub jitter: Duration,
    /// Probability that a datagram is lost (per receiver).
    pub loss: f64,
    /// Probability that a datagram is delivered twice.
    pub duplicate: f64,
}

impl Default for Faults {
    fn default() -> Self {
        Faults { delay: Duration::from_micros(100), jitter: Duration::ZERO, loss: 0.0, duplicate: 0.0 }
    }
}

/// A received message as the test sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub from: EndpointId,
    pub broadcast: bool,
    pub reliable: bool,
    pub payload: Vec<u8>,
}

/// One node: a core, its address, what it reported.
pub struct Node {
    pub core: Core,
    pub addr: SocketAddr,
    pub events: Vec<Event>,
    pub messages: Vec<Received>,
    /// While false, the node neither sends nor receives (crashed or cut off).
    pub up: bool,
    /// Until this instant the node reads nothing and runs no timers (an application thread that also reads its
    /// sockets, blocked): what arrives meanwhile waits for it, in order, as in a socket buffer.
    pub busy_until: Option<Instant>,
}

struct InFlight {
    at: Instant,
    order: u64,
    to: usize,
    from: SocketAddr,
    bytes: Vec<u8>,
}

impl PartialEq for InFlight {
    fn eq(&self, o: &Self) -> bool {
        (self.at, self.order) == (o.at, o.order)
    }
}
impl Eq for InFlight {}
impl PartialOrd for InFlight {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for InFlight {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.at, self.order).cmp(&(o.at, o.order))
    }
}

/// The simulated network.
pub struct Net {
    pub now: Instant,
    pub nodes: Vec<Node>,
    pub faults: Faults,
    flight: BinaryHeap<Reverse<InFlight>>,
    rng: u64,
    order: u64,
    buf: Vec<u8>,
    /// When set, every datagram put on the network is recorded here (receiver index, source, bytes), as an attacker
    /// on the segment would capture it.
    pub capture: Option<Vec<(usize, SocketAddr, Vec<u8>)>>,
    /// When set, the switch drops every datagram for the group (a network without multicast).
    pub drop_multicast: bool,
    /// Datagrams put on the network for the group, by sender index.
    pub group_sent: Vec<u64>,
    /// `(node, pass, until)`: of the datagrams node `node` sends from now on, `pass` go through, then those it sends
    /// before `until` are lost (a burst lost from a chosen point), then the network is as `faults` says again.
    pub burst_loss: Option<(usize, u64, Instant)>,
}

impl Net {
    pub fn new(seed: u64, faults: Faults) -> Self {
        Net {
            now: Instant::now(),
            nodes: Vec::new(),
            faults,
            flight: BinaryHeap::new(),
            rng: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
            order: 0,
            buf: Vec::new(),
            capture: None,
            drop_multicast: false,
            group_sent: Vec::new(),
            burst_loss: None,
        }
    }

    fn rand(&mut self) -> f64 {
        // xorshift64*
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        (self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// The default configuration of node `i` (named "n<i>", 100 ms announce period).
    pub fn config(&self, i: usize) -> CoreConfig {
        let addr = Self::addr_of(i);
        let mut c = CoreConfig::new(EndpointId(0x1000 + i as u64), format!("n{i}"), addr.port(), GROUP);
        c.announce_period = Duration::from_millis(100);
        c
    }

    pub fn addr_of(i: usize) -> SocketAddr {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1 + i as u8)), 40000 + i as u16)
    }

    /// Adds a node with the given config; its address is `addr_of(index)`.
    pub fn add(&mut self, config: CoreConfig) -> usize {
        let i = self.nodes.len();
        let core = Core::new(config, self.now).expect("valid config");
        let node = Node {
            core,
            addr: Self::addr_of(i),
            events: vec![],
            messages: vec![],
            up: true,
            busy_until: None,
        };
        self.nodes.push(node);
        i
    }

    /// Replaces node `i`'s core by a new one (a restart, or a crash and a new start), up at once.
    pub fn restart(&mut self, i: usize, config: CoreConfig) {
        let core = Core::new(config, self.now).expect("valid config");
        let node = &mut self.nodes[i];
        (node.core, node.up) = (core, true);
    }

    /// Hands node `to` a datagram now, as if it arrived from `from` (a forgery or a replay).
    pub fn inject(&mut self, to: usize, from: SocketAddr, bytes: &[u8]) {
        self.nodes[to].core.handle_datagram(self.now, from, bytes);
        self.drain(to);
    }

    /// Adds `n` nodes with default configs.
    pub fn add_default(&mut self, n: usize) {
        for _ in 0..n {
            let c = self.config(self.nodes.len());
            self.add(c);
        }
    }

    fn drain(&mut self, i: usize) {
        let now = self.now;
        let node = &mut self.nodes[i];
        while let Some(ev) = node.core.poll_event() {
            if let Event::Message { from, broadcast, reliable, payload } = &ev {
                let payload = payload.bytes(node.core.inbox()).to_vec();
                node.messages.push(Received {
                    from: *from,
                    broadcast: *broadcast,
                    reliable: *reliable,
                    payload,
                });
            } else {
                node.events.push(ev);
            }
        }
        node.core.take_inbox(Vec::new());
        let _ = now;
        let mut buf = std::mem::take(&mut self.buf);
        while let Some(t) = self.nodes[i].core.poll_transmit(now, &mut buf) {
            let src = self.nodes[i].addr;
            if !self.nodes[i].up {
                continue;
            }
            let targets: Vec<usize> = if t.destination == GROUP {
                if self.group_sent.len() <= i {
                    self.group_sent.resize(i + 1, 0);
                }
                self.group_sent[i] += 1;
                if self.drop_multicast {
                    continue;
                }
                (0..self.nodes.len()).collect()
            } else {
                (0..self.nodes.len()).filter(|&j| self.nodes[j].addr == t.destination).collect()
            };
            if let Some((node, pass, until)) = &mut self.burst_loss {
                if *node == i {
                    if *pass > 0 {
                        *pass -= 1;
                    } else if now < *until {
                        continue;
                    }
                }
            }
            for to in targets {
                if self.rand() < self.faults.loss {
                    continue;
                }
                let copies = if self.rand() < self.faults.duplicate { 2 } else { 1 };
                for _ in 0..copies {
                    let jitter = self.faults.jitter.mul_f64(self.rand());
                    self.order += 1;
                    if let Some(capture) = &mut self.capture {
                        capture.push((to, src, buf.clone()));
                    }
                    let at = self.now + self.faults.delay + jitter;
                    self.flight.push(Reverse(InFlight {
                        at,
                        order: self.order,
                        to,
                        from: src,
                        bytes: buf.clone(),
                    }));
                }
            }
        }
        self.buf = buf;
    }

    /// The instant node `i` is busy until, if that is still ahead.
    fn busy(&self, i: usize) -> Option<Instant> {
        self.nodes[i].busy_until.filter(|&at| at > self.now)
    }

    /// Runs every node's timers and the network until `until`.
    pub fn run_until(&mut self, until: Instant) {
        loop {
            for i in 0..self.nodes.len() {
                if self.nodes[i].up && self.busy(i).is_none() {
                    self.nodes[i].core.handle_timeout(self.now);
                }
                self.drain(i);
            }
            let next_timer = (0..self.nodes.len())
                .filter(|&i| self.nodes[i].up)
                .filter_map(|i| {
                    self.nodes[i].core.poll_timeout().map(|t| self.busy(i).map_or(t, |b| t.max(b)))
                })
                .min();
            let next_packet = self.flight.peek().map(|Reverse(p)| p.at);
            let next = [next_timer, next_packet].into_iter().flatten().min();
            match next {
                Some(t) if t <= until => self.now = self.now.max(t),
                _ => {
                    self.now = until;
                    return;
                }
            }
            while let Some(Reverse(p)) = self.flight.peek() {
                if p.at > self.now {
                    break;
                }
                let Reverse(mut p) = self.flight.pop().expect("peeked");
                if let Some(at) = self.busy(p.to) {
                    p.at = at; // waits, in its order, until the node reads again
                    self.flight.push(Reverse(p));
                    continue;
                }
                if self.nodes[p.to].up {
                    self.nodes[p.to].core.handle_datagram(self.now, p.from, &p.bytes);
                    self.drain(p.to);
                }
            }
        }
    }

    /// Runs for `d` of virtual time.
    pub fn run_for(&mut self, d: Duration) {
        let until = self.now + d;
        self.run_until(until);
    }

    /// Payloads node `i` received reliably from node `from`, each read as a u32 counter (its first 4 bytes, LE).
    pub fn counters(&self, i: usize, from: usize) -> Vec<u32> {
        let id = self.nodes[from].core.id();
        self.nodes[i]
            .messages
            .iter()
            .filter(|m| m.reliable && m.from == id)
            .map(|m| u32::from_le_bytes(m.payload[..4].try_into().unwrap()))
            .collect()
    }

    /// Peer-up events seen by node `i`, as IDs.
    pub fn ups(&self, i: usize) -> Vec<EndpointId> {
        self.nodes[i]
            .events
            .iter()
            .filter_map(|e| if let Event::PeerUp(p) = e { Some(p.id) } else { None })
            .collect()
    }

    /// Whether every up node sees every other up node.
    pub fn fully_discovered(&self) -> bool {
        let up: Vec<usize> = (0..self.nodes.len()).filter(|&i| self.nodes[i].up).collect();
        up.iter().all(|&i| {
            up.iter().all(|&j| i == j || self.nodes[i].core.peers().any(|p| p.id == self.nodes[j].core.id()))
        })
    }
}
