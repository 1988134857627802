//! # glue-node — the N-API binding of glue
//!
//! Converts types between JavaScript and [`glue_io`] and nothing else: every decision is made in
//! `glue-io` (sockets, the I/O thread) or `glue-proto` (the protocol). The contract with the TypeScript
//! layers is `src/transport/native-types.ts`:
//!
//! - `NativeEndpoint.open(config, onBatch)` opens an endpoint (throws an Error whose `code` is one of the
//!   `ERR_GLUE_*` codes);
//! - inbound traffic arrives as one `onBatch(batch)` call per I/O loop iteration, through a bounded
//!   threadsafe function (64 batches; a slow consumer makes the I/O thread wait), with all payloads in one
//!   Buffer that is handed over without copying;
//! - `send`, `broadcast`, `rejectPeer`, `stats` are synchronous; `close()` returns a Promise that settles
//!   once the goodbye is sent, the I/O thread has exited and the sockets are closed.
//!
//! `NativeRaftGroup` is one member of a consensus group over [`glue_raft`], for `src/consensus/`: synchronous and
//! sans-IO (ticks and messages in, `ready()` out), no threads.
#![deny(clippy::all)]
#![warn(missing_docs)]

mod address;
mod batch;
mod config;
mod endpoint;
mod error;
mod peer_stats;
mod raft;
mod raft_types;
#[cfg(unix)]
mod receive;
mod stats;
#[cfg(unix)]
mod uv;

pub use batch::{NativeAnnounceExtension, NativeBatch, NativePeerEvent};
pub use config::NativeConfig;
pub use endpoint::NativeEndpoint;
pub use raft::NativeRaftGroup;
pub use raft_types::{
    NativeRaftChange, NativeRaftConfig, NativeRaftEntry, NativeRaftMessage, NativeRaftReadState,
    NativeRaftReady, NativeRaftSnapshot, NativeRaftStatus,
};
pub use peer_stats::NativePeerStats;
pub use stats::NativeStats;
