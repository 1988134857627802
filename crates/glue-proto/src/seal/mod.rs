//! Sealing with the network key (opt-in): every datagram is authenticated and its submessages encrypted with an
//! AEAD, under a key derived per sender and per start (boot) from the network key, with a counter as nonce; receivers
//! reject forgeries, replays and datagrams of earlier runs. Specified in `docs/PROTOCOL.md` ("Sealed datagrams").
//!
//! - [`keys`]: the network key, its key ID, the per-sender key derivation (HKDF-SHA256), the cipher suites.
//! - [`header`]: the sealed datagram header (magic "GS").
//! - [`window`]: the sliding replay window (RFC 6479's bitmap, as IPsec and WireGuard use).
//! - [`Sealer`]: this endpoint's sending side; [`Opener`]: the receiving side (keys, verified senders, the boot
//!   handshake's pending challenges), bounded whatever arrives.

pub mod header;
pub mod keys;
mod opener;
mod sealer;
pub mod window;

pub use header::{SealHeader, SEALED_HEADER_LEN, SEALED_MAGIC, SEAL_OVERHEAD, TAG_LEN};
pub use keys::{random_boot_id, sender_key, KeyError, NetworkKey, Suite, KEY_LEN};
pub(crate) use opener::{OpenError, Opener};
pub(crate) use sealer::Sealer;
pub use window::ReplayWindow;

/// Sealing settings of a core: the keys (the first seals, all are accepted), the suite it seals with, and this
/// start's boot ID.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SealConfig {
    /// Network keys, at least one: the first seals what this endpoint sends, every one is accepted.
    pub keys: Vec<NetworkKey>,
    /// The AEAD this endpoint seals with (receivers accept every suite). Default AES-256-GCM.
    pub suite: Suite,
    /// Random per start of the endpoint: never reuse one with the same keys and endpoint ID (together with the counter
    /// it keeps nonces unique; a configuration given to a second core needs a new one — glue-io draws one per open).
    pub boot_id: u64,
}

impl SealConfig {
    /// Sealing with `keys` (the first seals) and a fresh random boot ID, with AES-256-GCM.
    pub fn new(keys: Vec<NetworkKey>) -> Self {
        SealConfig { keys, suite: Suite::Aes256Gcm, boot_id: random_boot_id() }
    }
}

/// Seals one datagram: `submessages` under the sender key that `key` and the header's fields give, with the header's
/// counter as nonce and the header's key ID replaced by `key`'s. For tools, forgery tests and test vectors; the core
/// seals its own datagrams as it sends them.
pub fn seal_datagram(key: &NetworkKey, header: &SealHeader, submessages: &[u8]) -> Vec<u8> {
    use ring::aead::{Aad, Nonce};
    let header = SealHeader { key_id: key.id(), ..*header };
    let mut out = Vec::with_capacity(SEALED_HEADER_LEN + submessages.len() + TAG_LEN);
    header.encode(&mut out);
    out.extend_from_slice(submessages);
    let cipher = keys::sender_cipher(key, header.suite, header.network_id, header.source, header.boot_id);
    let (head, body) = out.split_at_mut(SEALED_HEADER_LEN);
    let tag = cipher
        .seal_in_place_separate_tag(Nonce::assume_unique_for_key(header.nonce()), Aad::from(&*head), body)
        .expect("a datagram is far below the AEAD's length limit");
    out.extend_from_slice(tag.as_ref());
    out
}

/// Opens one sealed datagram with `key` (no replay check, no handshake): its header and submessages, or None when it
/// is not a sealed datagram or does not authenticate under `key`.
pub fn open_datagram(key: &NetworkKey, datagram: &[u8]) -> Option<(SealHeader, Vec<u8>)> {
    use ring::aead::{Aad, Nonce};
    let header = SealHeader::decode(datagram).ok()?;
    let cipher = keys::sender_cipher(key, header.suite, header.network_id, header.source, header.boot_id);
    let mut body = datagram[SEALED_HEADER_LEN..].to_vec();
    let aad = Aad::from(&datagram[..SEALED_HEADER_LEN]);
    let len = cipher.open_in_place(Nonce::assume_unique_for_key(header.nonce()), aad, &mut body).ok()?.len();
    body.truncate(len);
    Some((header, body))
}
