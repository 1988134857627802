//! The bounds of the reliable layer: windows, queue and memory limits, timeouts.

use std::time::Duration;

/// Limits of the reliable layer; every field has a unit and a default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReliableLimits {
    /// Fragments in flight (sent, not yet acknowledged by every receiver) per channel. Default 4096.
    pub send_window: u32,
    /// Bytes in flight per channel. Default 16 MiB.
    pub send_window_bytes: usize,
    /// Bytes queued for reliable sending in the whole core, beyond which sends are refused (a message is
    /// always accepted when nothing is queued). Default 64 MiB.
    pub send_queue_bytes: usize,
    /// Largest reliable message, bytes. Default 256 MiB.
    pub max_message_size: usize,
    /// Sequence numbers a receiver accepts beyond the next one it expects (its advertised window).
    /// Default 4096.
    pub recv_window: u32,
    /// Bytes of out-of-order fragments one receive stream buffers. Default 16 MiB.
    pub recv_buffer_bytes: usize,
    /// Bytes of reassembly and out-of-order buffers across all peers. Default 1 GiB.
    pub max_receive_memory: usize,
    /// An incomplete message that makes no progress for this long is dropped and counted. Default 10 s.
    pub reassembly_timeout: Duration,
    /// Deadline of a reliable message unless the sender gives one. Default 30 s.
    pub default_deadline: Duration,
    /// How long an ACK may wait to ride on a reply to its sender (request/response traffic: one datagram
    /// and one wake-up less per message on each side, so less CPU). Only held while this endpoint sent the
    /// peer reliable data within the last 10 ms, and never for a stream with a gap. Default 0 (off): on
    /// virtualised hosts whose idle vCPUs sleep, the extra stand-alone ACKs keep them awake and round trips
    /// are shorter without holding.
    pub ack_hold: Duration,
}

impl Default for ReliableLimits {
    fn default() -> Self {
        ReliableLimits {
            send_window: 4096,
            send_window_bytes: 16 << 20,
            send_queue_bytes: 64 << 20,
            max_message_size: 256 << 20,
            recv_window: 4096,
            recv_buffer_bytes: 16 << 20,
            max_receive_memory: 1 << 30,
            reassembly_timeout: Duration::from_secs(10),
            default_deadline: Duration::from_secs(30),
            ack_hold: Duration::ZERO,
        }
    }
}
