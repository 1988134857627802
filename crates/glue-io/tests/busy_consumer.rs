//! A consumer that cannot take batches for a while pauses reading, not announcing: its peers do not expire
//! it, and what was sent meanwhile arrives once it is ready again.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use glue_io::{DownReason, Endpoint, Event, InboundBatch, Sink};

/// Forwards batches, but reports itself not ready while `busy` is set.
struct BusySink {
    busy: Arc<AtomicBool>,
    tx: mpsc::Sender<InboundBatch>,
}

impl Sink for BusySink {
    fn ready(&mut self) -> bool {
        !self.busy.load(Ordering::SeqCst)
    }

    fn deliver(&mut self, batch: InboundBatch) -> bool {
        assert!(!self.busy.load(Ordering::SeqCst), "a batch was delivered while the consumer was busy");
        self.tx.send(batch).is_ok()
    }
}

#[test]
fn a_busy_consumer_keeps_announcing_and_catches_up() {
    let group = common::unique_group();
    let (a, mut a_log) = common::open(common::config("busy-a", group)); // expires silent peers after 150 ms
    let busy = Arc::new(AtomicBool::new(false));
    let (tx, rx) = mpsc::channel();
    let b = Endpoint::open(common::config("busy-b", group), BusySink { busy: busy.clone(), tx }).unwrap();
    a_log.wait_peer_up(b.id());
    let peer_up =
        |batch: &InboundBatch| batch.events.iter().any(|e| matches!(e, Event::PeerUp(p) if p.id == a.id()));
    let deadline = Instant::now() + common::WAIT;
    while !rx.recv_timeout(Duration::from_millis(100)).is_ok_and(|b| peer_up(&b)) {
        assert!(Instant::now() < deadline, "b never saw a");
    }

    busy.store(true, Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(50));
    for i in 0..20u32 {
        assert!(a.send(b.id(), &i.to_le_bytes()).unwrap());
    }
    // Ten expiry periods: b's I/O thread keeps announcing although its consumer takes nothing.
    std::thread::sleep(Duration::from_millis(1500));
    assert!(rx.try_recv().is_err(), "nothing delivered while busy");
    let read_until = Instant::now() + Duration::from_millis(200);
    a_log.wait_until("a's log so far", |_| Instant::now() > read_until);
    let expired = a_log.items.iter().any(|i| {
        matches!(i, common::Item::Event(Event::PeerDown { peer, reason: DownReason::Expired }) if peer.id == b.id())
    });
    assert!(!expired, "a must not expire b while b's consumer is busy");

    busy.store(false, Ordering::SeqCst);
    let mut got = Vec::new();
    while got.len() < 20 {
        let batch = rx.recv_timeout(common::WAIT).expect("the messages sent while busy");
        got.extend(batch.messages().map(|(_, _, data)| u32::from_le_bytes(data.try_into().unwrap())));
    }
    assert_eq!(got, (0..20).collect::<Vec<_>>());
}
