//! The network key, its key ID, and the per-sender key derivation (HKDF-SHA256, RFC 5869, from `ring`).

use ring::aead::{LessSafeKey, UnboundKey, AES_256_GCM, CHACHA20_POLY1305};
use ring::hkdf::{KeyType, Prk, Salt, HKDF_SHA256};
use ring::rand::{SecureRandom, SystemRandom};

use crate::EndpointId;

/// Length of a network key, bytes.
pub const KEY_LEN: usize = 32;
/// HKDF salt of every derivation from a network key.
pub const HKDF_SALT: &[u8] = b"glue/v1";
/// HKDF info of the key ID.
pub const INFO_KEY_ID: &[u8] = b"glue/v1 key id";
/// HKDF info prefix of a sender key (followed by suite, network ID, source ID and boot ID).
pub const INFO_SEAL: &[u8] = b"glue/v1 seal";

/// The AEAD a datagram is sealed with (byte 3 of the sealed header).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(u8)]
pub enum Suite {
    /// AES-256-GCM (the default: fastest where the CPU has AES instructions).
    #[default]
    Aes256Gcm = 1,
    /// ChaCha20-Poly1305 (faster on CPUs without AES instructions, e.g. many ARM boards).
    ChaCha20Poly1305 = 2,
}

impl Suite {
    /// The suite for a wire byte.
    pub fn from_u8(b: u8) -> Option<Suite> {
        match b {
            1 => Some(Suite::Aes256Gcm),
            2 => Some(Suite::ChaCha20Poly1305),
            _ => None,
        }
    }

    fn algorithm(self) -> &'static ring::aead::Algorithm {
        match self {
            Suite::Aes256Gcm => &AES_256_GCM,
            Suite::ChaCha20Poly1305 => &CHACHA20_POLY1305,
        }
    }
}

/// A key that is not 32 bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a network key is {KEY_LEN} bytes, got {0}")]
pub struct KeyError(pub usize);

/// A 32-byte network key with its HKDF pseudo-random key and key ID precomputed. Its `Debug` shows the key ID only.
#[derive(Clone)]
pub struct NetworkKey {
    bytes: [u8; KEY_LEN],
    prk: Prk,
    id: u32,
}

impl std::fmt::Debug for NetworkKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NetworkKey(id {:08x})", self.id)
    }
}

impl PartialEq for NetworkKey {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}

struct Len(usize);

impl KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

impl NetworkKey {
    /// A key from its 32 bytes.
    pub fn new(bytes: &[u8]) -> Result<NetworkKey, KeyError> {
        let bytes: [u8; KEY_LEN] = bytes.try_into().map_err(|_| KeyError(bytes.len()))?;
        let prk = Salt::new(HKDF_SHA256, HKDF_SALT).extract(&bytes);
        let mut id = [0u8; 4];
        expand(&prk, &[INFO_KEY_ID], &mut id);
        Ok(NetworkKey { bytes, prk, id: u32::from_le_bytes(id) })
    }

    /// The key ID: the first 4 bytes (LE) of HKDF-Expand(PRK, "glue/v1 key id"). Sent in every sealed datagram so that
    /// receivers pick the right key without trying each one; it reveals nothing of the key.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The raw key bytes.
    pub fn bytes(&self) -> &[u8; KEY_LEN] {
        &self.bytes
    }
}

fn expand(prk: &Prk, info: &[&[u8]], out: &mut [u8]) {
    // Cannot fail: the output is far below HKDF-SHA256's limit of 255 × 32 bytes.
    prk.expand(info, Len(out.len())).and_then(|okm| okm.fill(out)).expect("HKDF output length is valid");
}

/// The key a sender seals with: HKDF-Expand(PRK, "glue/v1 seal" ‖ suite ‖ network ID ‖ source ID ‖ boot ID, 32),
/// integers little-endian. One per (network key, suite, network, sender, start), so nonces (counters) never repeat
/// under one key.
pub fn sender_key(
    key: &NetworkKey,
    suite: Suite,
    network_id: u32,
    source: EndpointId,
    boot_id: u64,
) -> [u8; 32] {
    let mut out = [0u8; 32];
    let info: [&[u8]; 5] = [
        INFO_SEAL,
        &[suite as u8],
        &network_id.to_le_bytes(),
        &source.0.to_le_bytes(),
        &boot_id.to_le_bytes(),
    ];
    expand(&key.prk, &info, &mut out);
    out
}

/// The AEAD key of a sender, ready to seal or open.
pub(crate) fn sender_cipher(
    key: &NetworkKey,
    suite: Suite,
    network_id: u32,
    source: EndpointId,
    boot_id: u64,
) -> LessSafeKey {
    let bytes = sender_key(key, suite, network_id, source, boot_id);
    LessSafeKey::new(UnboundKey::new(suite.algorithm(), &bytes).expect("32-byte key fits both suites"))
}

/// A random boot ID from the operating system's generator (a fresh one per start keeps nonces unique).
pub fn random_boot_id() -> u64 {
    random_u64()
}

/// A random u64 from the operating system's generator (boot IDs, challenge cookies).
pub(crate) fn random_u64() -> u64 {
    let mut b = [0u8; 8];
    SystemRandom::new().fill(&mut b).expect("the operating system's random generator works");
    u64::from_le_bytes(b)
}
