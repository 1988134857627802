//! BYE: an endpoint leaves the network on purpose.

/// The BYE submessage (kind 0x02, flags 0) has an empty body: the leaving endpoint is the datagram's
/// source. Peers report it down at once (reason "left") instead of waiting for expiry.
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |  kind = 0x02  |   flags = 0   |     body length = 0           |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bye;
