//! Closing says goodbye and joins the thread; malformed input is counted, never fatal.

mod common;

use std::time::Duration;

use common::{eventually, loopback_sender, open_mesh, Item};
use glue_io::{DownReason, Endpoint, Error};

/// The thread is gone. A joined thread's /proc entry can linger for a moment after the join returns (the
/// kernel wakes the joiner before it reaps the task), hence the short wait.
#[cfg(target_os = "linux")]
fn gone(name: &str) {
    let deadline = std::time::Instant::now() + Duration::from_millis(500);
    while common::thread_names().iter().any(|n| n == name) {
        assert!(std::time::Instant::now() < deadline, "{name} still runs: {:?}", common::thread_names());
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn close_sends_bye_and_peers_see_left() {
    let mut mesh = open_mesh(&["bye-a", "bye-b"]);
    let (b, mut b_log) = mesh.pop().unwrap();
    let (a, _a_log) = mesh.pop().unwrap();
    let a_id = a.id();
    let sent_before = a.stats().core.datagrams_sent;
    a.close();
    b_log.wait_peer_down(a_id, DownReason::Left);
    assert!(a.stats().core.datagrams_sent > sent_before, "the goodbye is counted");
    assert!(a.is_closed());
    assert!(matches!(a.send(b.id(), b"late"), Err(Error::Closed)));
    assert!(matches!(a.broadcast(b"late"), Err(Error::Closed)));
    assert!(matches!(a.reject_peer(b.id()), Err(Error::Closed)));
    a.close(); // idempotent
}

#[test]
#[cfg(target_os = "linux")] // thread names from /proc
fn close_joins_the_thread_and_closes_the_sockets() {
    let group = common::unique_group();
    let (a, _log) = common::open(common::config("jn4b2c1", group));
    let addr = a.local_addr();
    eventually("the thread runs", || common::thread_names().iter().any(|n| n == "glue-io-jn4b2c1"));
    a.close();
    gone("glue-io-jn4b2c1");
    std::net::UdpSocket::bind(addr).expect("unicast port free again");
}

#[test]
#[cfg(target_os = "linux")] // thread names from /proc
fn drop_closes_too() {
    let group = common::unique_group();
    let (a, _log) = common::open(common::config("dr9x7q2", group));
    drop(a);
    gone("glue-io-dr9x7q2");
}

#[test]
#[cfg(target_os = "linux")] // thread names from /proc
fn concurrent_closes_all_wait() {
    let group = common::unique_group();
    let (a, _log) = common::open(common::config("cc3k8m1", group));
    let a = std::sync::Arc::new(a);
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let a = a.clone();
            std::thread::spawn(move || {
                a.close();
                gone("glue-io-cc3k8m1");
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn malformed_datagrams_are_counted() {
    let mut mesh = open_mesh(&["mf-a", "mf-b"]);
    let (b, mut b_log) = mesh.pop().unwrap();
    let (a, _a_log) = mesh.pop().unwrap();
    let garbage = loopback_sender();
    let before = b.stats().core.dropped_malformed;
    garbage.send_to(b"not glue at all", b.local_addr()).unwrap();
    garbage.send_to(&[0x47, 0x4c], b.local_addr()).unwrap();
    garbage.send_to(&[], b.local_addr()).unwrap();
    eventually("malformed count", || b.stats().core.dropped_malformed >= before + 3);
    // Still working afterwards.
    assert!(a.send(b.id(), b"after garbage").unwrap());
    b_log.wait_message(a.id(), false, b"after garbage");
}

#[test]
fn malformed_multicast_is_counted_by_everyone() {
    let group = common::unique_group();
    let (a, _a_log) = common::open(common::config("mm-a", group));
    let (b, _b_log) = common::open(common::config("mm-b", group));
    let garbage = loopback_sender();
    for _ in 0..10 {
        garbage.send_to(b"not a glue datagram", group).unwrap();
    }
    eventually("both count", || {
        a.stats().core.dropped_malformed >= 10 && b.stats().core.dropped_malformed >= 10
    });
}

#[test]
fn a_gone_consumer_stops_delivery_but_not_the_endpoint() {
    let group = common::unique_group();
    let (_a, mut a_log) = common::open(common::config("gc-a", group));
    let b = Endpoint::open(common::config("gc-b", group), |_| false).unwrap();
    a_log.wait_peer_up(b.id());
    eventually("b drops batches", || b.stats().dropped_batches >= 1);
    // b keeps announcing: a does not see it expire.
    std::thread::sleep(Duration::from_millis(400));
    a_log.wait_until("no expiry", |_| true);
    assert!(!a_log.items.iter().any(|i| matches!(i, Item::Event(glue_io::Event::PeerDown { .. }))));
}

#[test]
fn rejected_peers_are_dropped() {
    let mut mesh = open_mesh(&["rj-a", "rj-b"]);
    let (b, mut b_log) = mesh.pop().unwrap();
    let (a, _a_log) = mesh.pop().unwrap();
    b.reject_peer(a.id()).unwrap();
    eventually("rejected", || {
        a.broadcast(b"x").unwrap();
        std::thread::sleep(Duration::from_millis(20));
        b.stats().core.dropped_rejected > 0
    });
    b_log.wait_until("drain", |_| true);
}

#[test]
fn close_timeout_waits_for_the_goodbye() {
    let mut mesh = open_mesh(&["ct-a", "ct-b"]);
    let (b, mut b_log) = mesh.pop().unwrap();
    let (a, _a_log) = mesh.pop().unwrap();
    assert!(a.close_timeout(Duration::from_secs(5)));
    b_log.wait_peer_down(a.id(), DownReason::Left);
    assert!(a.close_timeout(Duration::ZERO), "already closed");
    drop(b);
}

#[test]
fn close_in_background_still_says_goodbye() {
    let mut mesh = open_mesh(&["cb-a", "cb-b"]);
    let (_b, mut b_log) = mesh.pop().unwrap();
    let (a, _a_log) = mesh.pop().unwrap();
    a.close_in_background();
    b_log.wait_peer_down(a.id(), DownReason::Left);
}
