//! Best-effort sends: one DATA submessage each, packed with whatever else goes to the same place.

use std::net::SocketAddr;

use super::{Core, SendError};
use crate::wire::{Data, SubmessageKind, DATA_FLAG_BROADCAST};
use crate::EndpointId;

impl Core {
    /// Largest payload of one best-effort message, bytes.
    pub fn max_payload(&self) -> usize {
        self.outbox.max_body() - Data::OVERHEAD
    }

    /// Queues a best-effort message to one accepted peer.
    pub fn send(&mut self, to: EndpointId, payload: &[u8]) -> Result<(), SendError> {
        let dest = self.peers.address_of(to).ok_or(SendError::UnknownPeer(to));
        self.queue_data(dest?, 0, payload)
    }

    /// Queues a best-effort message to every endpoint (the multicast group).
    pub fn broadcast(&mut self, payload: &[u8]) -> Result<(), SendError> {
        self.queue_data(self.config.broadcast_target, DATA_FLAG_BROADCAST, payload)
    }

    fn queue_data(&mut self, dest: SocketAddr, flags: u8, payload: &[u8]) -> Result<(), SendError> {
        if self.closed {
            return Err(SendError::Closed);
        }
        let max = self.max_payload();
        if payload.len() > max {
            return Err(SendError::TooLarge { size: payload.len(), max });
        }
        let data = Data { seq: self.data_seq, payload };
        self.data_seq = self.data_seq.wrapping_add(1);
        let len = Data::OVERHEAD + payload.len();
        self.outbox.push(dest, SubmessageKind::Data as u8, flags, len, |out| data.encode(out));
        self.stats.messages_sent += 1;
        Ok(())
    }
}
