//! This endpoint's sending side of sealing: one AEAD key per start (derived from the first network key), a counter
//! as nonce.

use ring::aead::{Aad, LessSafeKey, Nonce};

use super::header::{nonce, COUNTER_MULTICAST};
use super::keys::sender_cipher;
use super::{NetworkKey, SealConfig, SealHeader, Suite, SEALED_HEADER_LEN};
use crate::EndpointId;

/// Offset of the key ID in the sealed header.
const KEY_ID_AT: usize = 16;
/// Offset of the counter in the sealed header.
const COUNTER_AT: usize = 28;

/// Seals outgoing datagrams; see the module docs of [`super`].
pub(crate) struct Sealer {
    suite: Suite,
    network_id: u32,
    source: EndpointId,
    boot_id: u64,
    key_id: u32,
    cipher: LessSafeKey,
    /// The last counter used (without the multicast bit); the first datagram gets 1.
    counter: u64,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sealer(key {:08x}, boot {:016x}, counter {})", self.key_id, self.boot_id, self.counter)
    }
}

impl Sealer {
    pub(crate) fn new(config: &SealConfig, network_id: u32, source: EndpointId) -> Sealer {
        let key = &config.keys[0];
        Sealer {
            suite: config.suite,
            network_id,
            source,
            boot_id: config.boot_id,
            key_id: key.id(),
            cipher: sender_cipher(key, config.suite, network_id, source, config.boot_id),
            counter: 0,
        }
    }

    /// Seals with `key` from now on (the counter goes on, so nonces stay unique under every key).
    pub(crate) fn set_key(&mut self, key: &NetworkKey) {
        if key.id() != self.key_id {
            self.key_id = key.id();
            self.cipher = sender_cipher(key, self.suite, self.network_id, self.source, self.boot_id);
        }
    }

    /// The header every datagram starts with before it is sealed (key ID and counter are filled in by `seal`).
    pub(crate) fn header_template(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(SEALED_HEADER_LEN);
        SealHeader {
            suite: self.suite,
            network_id: self.network_id,
            source: self.source,
            key_id: 0,
            boot_id: self.boot_id,
            counter: 0,
        }
        .encode(&mut out);
        out
    }

    /// Seals a datagram in place: `buf` holds the header template and the plain submessages; they are encrypted and
    /// the tag appended (the buffer has room for it: the outbox keeps 16 bytes free).
    pub(crate) fn seal(&mut self, buf: &mut Vec<u8>, multicast: bool) {
        self.counter += 1;
        let counter = self.counter | if multicast { COUNTER_MULTICAST } else { 0 };
        buf[KEY_ID_AT..KEY_ID_AT + 4].copy_from_slice(&self.key_id.to_le_bytes());
        buf[COUNTER_AT..COUNTER_AT + 8].copy_from_slice(&counter.to_le_bytes());
        let (head, body) = buf.split_at_mut(SEALED_HEADER_LEN);
        let tag = self
            .cipher
            .seal_in_place_separate_tag(Nonce::assume_unique_for_key(nonce(counter)), Aad::from(&*head), body)
            .expect("a datagram is far below the AEAD's length limit");
        buf.extend_from_slice(tag.as_ref());
    }
}
