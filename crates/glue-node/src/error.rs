//! Errors thrown to JavaScript: a napi error whose status is one of the stable `ERR_GLUE_*` codes, which
//! N-API puts into the Error's `code` property.

use napi::Status;

/// The `code` of a thrown error (the same strings as `ErrorCode` in `src/errors.ts`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// A configuration value is invalid; the message names the field and the value.
    InvalidOption,
    /// The listen or discovery address is taken.
    AddressInUse,
    /// The interface (or listen) address is not an address of this host.
    InterfaceNotFound,
    /// Any other socket failure.
    Socket,
    /// The peer ID is not a peer ID.
    UnknownPeer,
    /// The message does not fit into one datagram.
    MessageTooLarge,
    /// The endpoint (or consensus group) is closed.
    Closed,
    /// Only the leader of a consensus group takes proposals and configuration changes.
    NotLeader,
    /// A raft message from the network was refused (see glue-raft's input checks); nothing changed.
    RaftMalformed,
    /// The leader dropped a proposal (a leader transfer or an earlier configuration change is in progress).
    RaftDropped,
    /// Another error of the raft library.
    Raft,
    /// A consensus group failed half-way earlier; close it and open it again.
    RaftPoisoned,
    /// A consensus group's data directory could not be read or written.
    Persist,
    /// A failure of N-API itself (argument conversion and the like).
    Napi(Status),
}

impl AsRef<str> for Code {
    fn as_ref(&self) -> &str {
        match self {
            Code::InvalidOption => "ERR_GLUE_INVALID_OPTION",
            Code::AddressInUse => "ERR_GLUE_ADDRESS_IN_USE",
            Code::InterfaceNotFound => "ERR_GLUE_INTERFACE_NOT_FOUND",
            Code::Socket => "ERR_GLUE_SOCKET",
            Code::UnknownPeer => "ERR_GLUE_UNKNOWN_PEER",
            Code::MessageTooLarge => "ERR_GLUE_MESSAGE_TOO_LARGE",
            Code::Closed => "ERR_GLUE_CLOSED",
            Code::NotLeader => "ERR_GLUE_NOT_LEADER",
            Code::RaftMalformed => "ERR_GLUE_RAFT_MALFORMED",
            Code::RaftDropped => "ERR_GLUE_RAFT_DROPPED",
            Code::Raft => "ERR_GLUE_RAFT",
            Code::RaftPoisoned => "ERR_GLUE_RAFT_POISONED",
            Code::Persist => "ERR_GLUE_PERSIST",
            Code::Napi(status) => status.as_ref(),
        }
    }
}

impl From<Status> for Code {
    fn from(status: Status) -> Self {
        Code::Napi(status)
    }
}

/// An error thrown to JavaScript with `code` set.
pub type JsError = napi::Error<Code>;

/// A failure on its way to JavaScript: plain data (testable without Node), turned into a [`JsError`] by
/// `?` in the exported functions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The `code` property.
    pub code: Code,
    /// The message.
    pub message: String,
}

impl From<Failure> for JsError {
    fn from(f: Failure) -> Self {
        napi::Error::new(f.code, f.message)
    }
}

impl From<glue_io::Error> for Failure {
    fn from(e: glue_io::Error) -> Self {
        from_io(e)
    }
}

/// Shorthand for results of the conversions.
pub type Converted<T> = Result<T, Failure>;

/// An error with this code and message.
pub fn error(code: Code, message: impl ToString) -> Failure {
    Failure { code, message: message.to_string() }
}

/// The JavaScript error for a runtime error.
pub fn from_io(e: glue_io::Error) -> Failure {
    let code = match &e {
        glue_io::Error::InvalidConfig(c) => {
            let value = if c.field == "name" { format!("{:?}", c.value) } else { c.value.clone() };
            return invalid_option(js_field(c.field), &value, c.reason);
        }
        glue_io::Error::AddressInUse { .. } => Code::AddressInUse,
        glue_io::Error::InterfaceNotFound { .. } => Code::InterfaceNotFound,
        glue_io::Error::MessageTooLarge { .. } => Code::MessageTooLarge,
        glue_io::Error::Closed => Code::Closed,
        glue_io::Error::InvalidSlab(glue_io::slab::SlabError::TooLarge { .. }) => Code::MessageTooLarge,
        glue_io::Error::InvalidSlab(_) => Code::Napi(Status::InvalidArg),
        _ => Code::Socket,
    };
    error(code, e)
}

/// The JavaScript error for a consensus group's error.
pub fn from_raft(e: glue_raft::GroupError) -> Failure {
    use glue_raft::GroupError as G;
    let code = match &e {
        G::NotLeader => Code::NotLeader,
        G::Malformed(_) => Code::RaftMalformed,
        G::InvalidArgument(_) => Code::InvalidOption,
        G::Io(_) => Code::Persist,
        G::Closed => Code::Closed,
        G::Poisoned => Code::RaftPoisoned,
        e if e.is_proposal_dropped() => Code::RaftDropped,
        _ => Code::Raft,
    };
    error(code, e)
}

/// An invalid-option error naming the JavaScript option.
pub fn invalid_option(field: &str, value: &str, expected: &str) -> Failure {
    error(Code::InvalidOption, format!("Invalid option {field}: {value} ({expected})"))
}

/// The `NativeConfig` name of a `glue_io::IoConfig` field.
fn js_field(field: &str) -> &str {
    match field {
        "unicast_port" | "listen" => "listenAddress",
        "interface" => "interfaceAddress",
        "discovery_target" => "discoveryTarget",
        "discovery_listen" => "discoveryListen",
        "dual_stack" => "dualStackGroup",
        "announce_period" => "announcePeriodMs",
        "expiry_multiplier" => "expiryMultiplier",
        "name_clash" => "nameClash",
        "multicast_ttl" => "multicastTtl",
        "max_datagram_size" => "maxDatagramSize",
        "max_peers" => "maxPeers",
        "socket_buffer_size" => "socketBufferSize",
        "network_id" => "networkId",
        "id" => "endpointId",
        "network_keys" => "networkKeys",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_the_typescript_error_codes() {
        let io = |e| from_io(e).code.as_ref().to_owned();
        let os = || std::io::Error::from(std::io::ErrorKind::Other);
        let addr = "127.0.0.1:1".parse().unwrap();
        assert_eq!(io(glue_io::Error::Closed), "ERR_GLUE_CLOSED");
        assert_eq!(io(glue_io::Error::MessageTooLarge { size: 2, max: 1 }), "ERR_GLUE_MESSAGE_TOO_LARGE");
        let e = glue_io::Error::AddressInUse { context: "bind".into(), address: addr, source: os() };
        assert_eq!(io(e), "ERR_GLUE_ADDRESS_IN_USE");
        let e =
            glue_io::Error::InterfaceNotFound { address: addr.ip(), context: "join".into(), source: os() };
        assert_eq!(io(e), "ERR_GLUE_INTERFACE_NOT_FOUND");
        assert_eq!(io(glue_io::Error::Socket { context: "bind".into(), source: os() }), "ERR_GLUE_SOCKET");
        assert_eq!(Code::UnknownPeer.as_ref(), "ERR_GLUE_UNKNOWN_PEER");
        let slab = |e| glue_io::Error::InvalidSlab(e);
        let too_large = glue_io::slab::SlabError::TooLarge { index: 0, size: 2, max: 1 };
        assert_eq!(io(slab(too_large)), "ERR_GLUE_MESSAGE_TOO_LARGE");
        let malformed = glue_io::slab::SlabError::Malformed { index: 0, offset: 0, what: "truncated header" };
        assert_eq!(io(slab(malformed)), "InvalidArg");
        assert_eq!(Code::from(Status::InvalidArg).as_ref(), "InvalidArg");
    }

    #[test]
    fn raft_codes() {
        use glue_raft::GroupError as G;
        let code = |e| from_raft(e).code.as_ref().to_owned();
        assert_eq!(code(G::NotLeader), "ERR_GLUE_NOT_LEADER");
        assert_eq!(code(G::Malformed("x".into())), "ERR_GLUE_RAFT_MALFORMED");
        assert_eq!(code(G::InvalidArgument("x".into())), "ERR_GLUE_INVALID_OPTION");
        assert_eq!(code(G::Io(std::io::ErrorKind::Other.into())), "ERR_GLUE_PERSIST");
        assert_eq!(code(G::Closed), "ERR_GLUE_CLOSED");
        assert_eq!(code(G::Poisoned), "ERR_GLUE_RAFT_POISONED");
        let dropped = glue_raft::Group::open(glue_raft::GroupConfig::new(1, vec![1]))
            .map(|mut g| g.propose(b"x").unwrap_err())
            .unwrap();
        assert_eq!(code(dropped), "ERR_GLUE_NOT_LEADER");
    }
}
