//! Decoding errors: every way a datagram can be malformed has its own variant.

/// Why a datagram or submessage could not be decoded. Decoding never panics and never allocates
/// beyond the datagram's own size.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The datagram ended before a field was complete.
    #[error("truncated: needed {needed} more bytes for {field}")]
    Truncated {
        /// The field being read.
        field: &'static str,
        /// How many bytes were missing.
        needed: usize,
    },
    /// The first two bytes are not "GL".
    #[error("bad magic {0:#06x}")]
    BadMagic(u16),
    /// A protocol version this implementation does not speak.
    #[error("unsupported version {0}")]
    UnsupportedVersion(u8),
    /// A field holds a value outside its allowed range.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// The offending field.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
}
