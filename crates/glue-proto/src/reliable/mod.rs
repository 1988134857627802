//! Reliable transport and fragmentation: per-peer unicast channels and one multicast channel per
//! sender, with sequence numbers per fragment, cumulative + selective acknowledgements, RTT-based
//! retransmission with backoff, receiver windows (flow control), in-order delivery, duplicate
//! suppression and bounded reassembly. Modelled on the DDS RELIABLE writer (HEARTBEAT / ACKNACK).

mod limits;
mod recv_stream;
mod rtt;
mod send_channel;

pub use limits::ReliableLimits;
pub(crate) use recv_stream::{Delivery, RecvStream};
pub use rtt::{Rtt, INITIAL_RTO, MAX_RTO, MIN_RTO};
pub(crate) use send_channel::{ChannelCtx, SendChannel};
