//! Endpoint identifiers.

use std::fmt;
use std::str::FromStr;

/// A 64-bit endpoint ID, random per endpoint unless configured. Shown as 16 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct EndpointId(pub u64);

impl fmt::Display for EndpointId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl fmt::Debug for EndpointId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EndpointId({:016x})", self.0)
    }
}

/// Returned when a string is not 1 to 16 hex digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("endpoint ID must be 1 to 16 hex digits, got {0:?}")]
pub struct ParseIdError(pub String);

impl FromStr for EndpointId {
    type Err = ParseIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() || s.len() > 16 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ParseIdError(s.to_owned()));
        }
        u64::from_str_radix(s, 16).map(EndpointId).map_err(|_| ParseIdError(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip() {
        let id = EndpointId(0x0123_4567_89ab_cdef);
        assert_eq!(id.to_string(), "0123456789abcdef");
        assert_eq!("0123456789abcdef".parse::<EndpointId>().unwrap(), id);
        assert_eq!("ff".parse::<EndpointId>().unwrap(), EndpointId(255));
    }

    #[test]
    fn rejects_bad_ids() {
        for bad in ["", "0123456789abcdef0", "xyz", "-1", " 1"] {
            assert!(bad.parse::<EndpointId>().is_err(), "{bad:?}");
        }
    }
}
