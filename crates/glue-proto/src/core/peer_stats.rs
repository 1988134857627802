//! The per-peer statistics query: reads the channels and streams of each accepted peer, on demand.

use std::time::Instant;

use super::Core;
use crate::reliable::ChannelCtx;
use crate::{EndpointId, PeerStats};

impl Core {
    /// Round trip, resends and queue depths of every accepted peer, in the peer table's order. Computed when
    /// called (O(peers + their acknowledged runs)), nothing is kept for it on the hot path.
    pub fn peer_stats(&self) -> Vec<PeerStats> {
        self.peers().map(|p| self.stats_of(p.id)).collect()
    }

    /// Measures the round trip to every accepted peer without sending data: one direct heartbeat each (a peer answers
    /// every heartbeat with an ACK), timed until its ACK. For peers this endpoint sends no reliable unicast to (whose
    /// round trip is otherwise never measured); [`Core::peer_stats`] shows the result once the answers are in. At most
    /// one probe per peer is outstanding. Returns how many probes were queued; drain [`Core::poll_transmit`].
    pub fn probe_peers(&mut self, now: Instant) -> usize {
        if self.closed {
            return 0;
        }
        let ids: Vec<EndpointId> = self.peers().map(|p| p.id).collect();
        let mut ctx = ChannelCtx {
            now,
            outbox: &mut self.outbox,
            events: &mut self.events,
            stats: &mut self.stats,
            limits: &self.config.reliable,
        };
        ids.into_iter().filter(|&id| self.multicast.probe(&mut ctx, id)).count()
    }

    /// The statistics of one peer (all zero for an ID without channels or streams).
    pub fn stats_of(&self, id: EndpointId) -> PeerStats {
        let mut s = PeerStats::new(id);
        let unicast_rtt = self.unicast.get(&id).and_then(|c| c.measured_rtt());
        if let Some((srtt, var)) = unicast_rtt.or_else(|| self.multicast.probed_rtt(id)) {
            (s.srtt, s.rttvar) = (Some(srtt), Some(var));
        }
        if let Some(c) = self.unicast.get(&id) {
            (s.reliable_messages_sent, s.reliable_bytes_sent) = c.queued_totals();
            s.send_queue_messages = c.unfinished_messages() as u64;
            s.send_queue_bytes = c.queued_bytes() as u64;
            s.unsent_fragments = c.unsent_fragments();
        }
        let views =
            [self.unicast.get(&id).and_then(|c| c.receiver_view(id)), self.multicast.receiver_view(id)];
        for view in views.into_iter().flatten() {
            s.fragments_resent += view.resent;
            s.unacked_fragments += view.unacked;
        }
        for key in [(id, false), (id, true)] {
            if let Some(stream) = self.streams.get(&key) {
                let (messages, bytes) = stream.delivered();
                s.reliable_messages_received += messages;
                s.reliable_bytes_received += bytes;
                let (fragments, bytes) = stream.buffered();
                s.recv_buffered_fragments += fragments as u64;
                s.recv_buffered_bytes += bytes as u64;
            }
        }
        s
    }
}
