//! Commands from application threads to the I/O thread: a bounded queue for messages, an unbounded one
//! for the rare control commands, a close flag, and a coalesced wake-up (one `Waker::wake` per burst).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender, TrySendError};
use std::time::Duration;

use glue_proto::EndpointId;
use mio::Waker;

/// Commands queued at most (messages waiting for the I/O thread).
pub(crate) const COMMAND_QUEUE: usize = 65_536;
/// Payload bytes queued at most; a command is always taken when the queue holds no bytes, so that one
/// message of any allowed size fits.
pub(crate) const COMMAND_QUEUE_BYTES: usize = 64 << 20;

/// A message to send; the payload is copied once, into the command.
#[derive(Debug)]
pub(crate) enum Command {
    /// Unicast to one peer.
    Send {
        /// The peer.
        to: EndpointId,
        /// The payload.
        payload: Vec<u8>,
    },
    /// Multicast to every endpoint.
    Broadcast(Vec<u8>),
    /// Reliable unicast to one peer; the outcome is reported under `token`.
    SendReliable {
        /// The peer.
        to: EndpointId,
        /// The message (moved into the core without another copy).
        payload: Vec<u8>,
        /// Reported back in a Delivered, Failed or Refused entry.
        token: u32,
        /// Deadline from when the I/O thread takes the command; None = the configured default.
        deadline: Option<Duration>,
    },
    /// Reliable multicast to every peer; the outcome is reported under `token`.
    BroadcastReliable {
        /// The message.
        payload: Vec<u8>,
        /// Reported back in a Delivered, Failed or Refused entry.
        token: u32,
        /// As for `SendReliable`.
        deadline: Option<Duration>,
    },
    /// Messages in slab records (see [`crate::slab`]), validated before they were queued.
    Slab(Vec<u8>),
}

impl Command {
    /// Payload bytes carried.
    pub(crate) fn len(&self) -> usize {
        match self {
            Command::Send { payload, .. }
            | Command::Broadcast(payload)
            | Command::SendReliable { payload, .. }
            | Command::BroadcastReliable { payload, .. }
            | Command::Slab(payload) => payload.len(),
        }
    }
}

/// A control command: never dropped (the queue is unbounded; there is at most one per peer).
#[derive(Debug)]
pub(crate) enum Control {
    /// Treat this peer as rejected.
    Reject(EndpointId),
    /// Set (empty value: remove) the announcement extension of this type.
    SetAnnounceExtension {
        /// Extension type.
        kind: u8,
        /// Extension value, at most 65535 bytes.
        value: Vec<u8>,
    },
}

/// What became of a posted command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Posted {
    /// Queued; the I/O thread will see it.
    Queued,
    /// The queue was full: dropped.
    Full,
    /// The I/O thread is gone.
    Closed,
}

/// The sending side, shared by every handle of one endpoint.
#[derive(Debug)]
pub(crate) struct Mailbox {
    commands: SyncSender<Command>,
    control: Sender<Control>,
    waker: Waker,
    wake_pending: AtomicBool,
    close: AtomicBool,
    /// Payload bytes of the queued commands (shared with the inbox).
    bytes: std::sync::Arc<AtomicUsize>,
    /// Queued commands (shared with the inbox).
    queued: std::sync::Arc<AtomicUsize>,
}

/// The receiving side, owned by the I/O thread.
#[derive(Debug)]
pub(crate) struct Inbox {
    commands: Receiver<Command>,
    control: Receiver<Control>,
    bytes: std::sync::Arc<AtomicUsize>,
    queued: std::sync::Arc<AtomicUsize>,
}

impl Mailbox {
    /// A mailbox waking the I/O thread through `waker`, and the I/O thread's side of it.
    pub(crate) fn new(waker: Waker) -> (Mailbox, Inbox) {
        let (commands, commands_rx) = mpsc::sync_channel(COMMAND_QUEUE);
        let (control, control_rx) = mpsc::channel();
        let bytes = std::sync::Arc::new(AtomicUsize::new(0));
        let queued = std::sync::Arc::new(AtomicUsize::new(0));
        let mailbox = Mailbox {
            commands,
            control,
            waker,
            wake_pending: AtomicBool::new(false),
            close: AtomicBool::new(false),
            bytes: bytes.clone(),
            queued: queued.clone(),
        };
        (mailbox, Inbox { commands: commands_rx, control: control_rx, bytes, queued })
    }

    /// Queues a message without blocking.
    pub(crate) fn post(&self, command: Command) -> Posted {
        let len = command.len();
        let queued = self.bytes.load(Ordering::Acquire);
        if queued > 0 && queued + len > COMMAND_QUEUE_BYTES {
            return Posted::Full;
        }
        self.bytes.fetch_add(len, Ordering::AcqRel);
        self.queued.fetch_add(1, Ordering::AcqRel);
        match self.commands.try_send(command) {
            Ok(()) => {
                self.wake();
                Posted::Queued
            }
            Err(TrySendError::Full(_)) => {
                self.bytes.fetch_sub(len, Ordering::AcqRel);
                self.queued.fetch_sub(1, Ordering::AcqRel);
                Posted::Full
            }
            Err(TrySendError::Disconnected(_)) => {
                self.queued.fetch_sub(1, Ordering::AcqRel);
                Posted::Closed
            }
        }
    }

    /// Queues a control command; false when the I/O thread is gone.
    pub(crate) fn control(&self, control: Control) -> bool {
        let sent = self.control.send(control).is_ok();
        self.wake();
        sent
    }

    /// Asks the I/O thread to say goodbye and exit.
    pub(crate) fn request_close(&self) {
        self.close.store(true, Ordering::SeqCst);
        // Not coalesced: the thread must see the flag even when a wake-up is pending but not yet taken.
        let _ = self.waker.wake();
    }

    /// Whether close was requested.
    pub(crate) fn close_requested(&self) -> bool {
        self.close.load(Ordering::SeqCst)
    }

    /// Whether no message command is queued (one sent now would not overtake any).
    pub(crate) fn is_empty(&self) -> bool {
        self.queued.load(Ordering::Acquire) == 0
    }

    /// Wakes the I/O thread unless a wake-up is already pending.
    pub(crate) fn wake(&self) {
        if !self.wake_pending.swap(true, Ordering::AcqRel) {
            // A failed wake-up (never seen in practice) only delays the command to the next timeout.
            let _ = self.waker.wake();
        }
    }

    /// Called by the I/O thread before it drains the queues: later posts wake it again.
    pub(crate) fn start_drain(&self) {
        self.wake_pending.store(false, Ordering::Release);
    }
}

impl Inbox {
    /// The next message, if any.
    pub(crate) fn next_command(&self) -> Option<Command> {
        let command = self.commands.try_recv().ok()?;
        self.bytes.fetch_sub(command.len(), Ordering::AcqRel);
        self.queued.fetch_sub(1, Ordering::AcqRel);
        Some(command)
    }

    /// The next control command, if any.
    pub(crate) fn next_control(&self) -> Option<Control> {
        self.control.try_recv().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mio::{Poll, Token};

    #[test]
    fn full_queue_and_closed_inbox() {
        let poll = Poll::new().unwrap();
        let (mailbox, inbox) = Mailbox::new(Waker::new(poll.registry(), Token(0)).unwrap());
        for _ in 0..COMMAND_QUEUE {
            assert_eq!(mailbox.post(Command::Broadcast(vec![])), Posted::Queued);
        }
        assert_eq!(mailbox.post(Command::Broadcast(vec![])), Posted::Full);
        mailbox.start_drain();
        assert!(!mailbox.is_empty());
        assert!(inbox.next_command().is_some());
        assert!(mailbox.control(Control::Reject(EndpointId(1))));
        while inbox.next_command().is_some() {}
        assert!(mailbox.is_empty());
        // Bytes are bounded too, but one message of any size fits an empty queue.
        let big = || Command::Broadcast(vec![0; COMMAND_QUEUE_BYTES]);
        assert_eq!(mailbox.post(big()), Posted::Queued);
        assert_eq!(mailbox.post(Command::Broadcast(vec![0; 1])), Posted::Full);
        assert!(inbox.next_command().is_some());
        assert_eq!(mailbox.post(Command::Broadcast(vec![0; 1])), Posted::Queued);
        assert!(matches!(inbox.next_control(), Some(Control::Reject(EndpointId(1)))));
        drop(inbox);
        assert_eq!(mailbox.post(Command::Broadcast(vec![])), Posted::Closed);
        assert!(!mailbox.control(Control::Reject(EndpointId(1))));
    }
}
