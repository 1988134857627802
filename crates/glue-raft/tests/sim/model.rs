//! The application every simulated member runs: the list of entries it applied.

/// A member's application: every normal non-empty entry applied, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Model {
    /// The last index applied.
    pub applied: u64,
    /// The data of the entries applied.
    pub entries: Vec<Vec<u8>>,
}

impl Default for Model {
    /// The state of a new group: its initial snapshot, nothing applied.
    fn default() -> Self {
        Model { applied: glue_raft::INITIAL_INDEX, entries: Vec::new() }
    }
}

impl Model {
    /// The state as snapshot bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = self.applied.to_le_bytes().to_vec();
        for e in &self.entries {
            out.extend_from_slice(&(e.len() as u32).to_le_bytes());
            out.extend_from_slice(e);
        }
        out
    }

    /// The state from snapshot bytes.
    pub fn decode(mut bytes: &[u8]) -> Model {
        let applied = u64::from_le_bytes(bytes[..8].try_into().unwrap());
        bytes = &bytes[8..];
        let mut entries = Vec::new();
        while !bytes.is_empty() {
            let len = u32::from_le_bytes(bytes[..4].try_into().unwrap()) as usize;
            entries.push(bytes[4..4 + len].to_vec());
            bytes = &bytes[4 + len..];
        }
        Model { applied, entries }
    }
}
