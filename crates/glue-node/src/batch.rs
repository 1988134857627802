//! Inbound batches: the `NativeBatch` object handed to `onBatch`, and the [`glue_io::Sink`] that queues
//! batches on the threadsafe function.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use glue_io::{Event, InboundBatch, PeerInfo};
use napi::bindgen_prelude::{Buffer, ToNapiValue, TypeName, Uint32Array, ValueType};
use napi::sys;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::Status;
use napi_derive::napi;

/// Batches waiting for JavaScript at most; when full, the I/O thread waits (backpressure).
pub const BATCH_QUEUE: usize = 64;

/// The threadsafe function behind `onBatch`: not callee-handled, weak (it never keeps Node alive), with a
/// bounded queue.
pub type BatchFn = ThreadsafeFunction<InboundBatch, (), NativeBatch, Status, false, true, BATCH_QUEUE>;

/// A peer as the native core reports it.
#[napi(object, object_from_js = false)]
pub struct NativePeerEvent {
    /// What happened.
    #[napi(js_name = "type", ts_type = "'peer-up' | 'peer-down' | 'peer-changed' | 'name-clash'")]
    pub kind: String,
    /// The peer's ID (16 hex digits). For 'name-clash': the newcomer.
    pub id: String,
    /// The peer's name.
    pub name: String,
    /// The peer's unicast address "ip:port".
    pub address: String,
    /// The peer's announce period in ms.
    pub announce_period_ms: f64,
    /// For 'peer-down': 'expired' | 'left' | 'restarted'.
    pub reason: Option<String>,
    /// For 'name-clash': the ID that held the name first (may be our own ID).
    pub existing_id: Option<String>,
    /// For 'name-clash': true when the newcomer was rejected.
    pub rejected: Option<bool>,
    /// The extensions of the peer's latest announcement, in the order announced (e.g. type 0x10, its
    /// interest summary). A change of any of them is a 'peer-changed' event.
    pub extensions: Vec<NativeAnnounceExtension>,
}

/// One announcement extension of a peer.
#[napi(object, object_from_js = false)]
pub struct NativeAnnounceExtension {
    /// Extension type, 0..255 (0x10: interest summary).
    #[napi(js_name = "type")]
    pub kind: u32,
    /// Extension value (a copy).
    pub value: Buffer,
}

/// One batch of inbound events in arrival order; `entries` holds 4 u32 per entry (see
/// `src/transport/native-types.ts`).
#[napi(object, object_from_js = false)]
pub struct NativeBatch {
    /// All payloads back to back.
    #[napi(ts_type = "Buffer")]
    pub data: BatchBytes,
    /// `[kind, a, b, c]` per entry.
    #[napi(ts_type = "Uint32Array")]
    pub entries: BatchEntries,
    /// The senders, indexed by message entries.
    pub peer_ids: Vec<String>,
    /// The peer events, indexed by peer-event entries.
    pub events: Vec<NativePeerEvent>,
    /// For failed reliable sends: the IDs of the receivers that did not acknowledge.
    pub failures: Vec<Vec<String>>,
    /// Large messages, each its own Buffer (handed over without copying), and payloads handed back by refusals.
    pub buffers: Vec<Buffer>,
}

impl NativeBatch {
    /// Converts a batch (on the JavaScript thread): the payload bytes and the entries are handed over
    /// without copying.
    pub fn from_io(batch: InboundBatch) -> NativeBatch {
        NativeBatch {
            data: BatchBytes(batch.data),
            entries: BatchEntries(InboundBatch::entries_into_u32s(batch.entries)),
            peer_ids: batch.peer_ids.iter().map(ToString::to_string).collect(),
            events: batch.events.into_iter().filter_map(peer_event).collect(),
            failures: batch
                .failures
                .iter()
                .map(|ids| ids.iter().map(ToString::to_string).collect())
                .collect(),
            buffers: batch.buffers.into_iter().map(Buffer::from).collect(),
        }
    }
}

/// Up to this many bytes, a batch's payloads and entries are copied into memory of the JavaScript engine's own,
/// which is cheaper than handing the allocation over (an external buffer needs a finaliser and a global handle):
/// the request/response case. Larger batches are handed over without copying.
const COPY_BELOW: usize = 16 << 10;

/// The payloads of a batch, as a Buffer (see [`COPY_BELOW`]).
pub struct BatchBytes(Vec<u8>);

/// The entries of a batch, as a Uint32Array (see [`COPY_BELOW`]).
pub struct BatchEntries(Vec<u32>);

impl TypeName for BatchBytes {
    fn type_name() -> &'static str {
        "Buffer"
    }

    fn value_type() -> ValueType {
        ValueType::Object
    }
}

impl TypeName for BatchEntries {
    fn type_name() -> &'static str {
        "Uint32Array"
    }

    fn value_type() -> ValueType {
        ValueType::Object
    }
}

impl ToNapiValue for BatchBytes {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
        let bytes = val.0;
        if bytes.is_empty() || bytes.len() >= COPY_BELOW {
            return Buffer::to_napi_value(env, bytes.into());
        }
        let mut out = std::ptr::null_mut();
        let mut result = std::ptr::null_mut();
        // SAFETY: `bytes` is live for the call, which copies it.
        let status = sys::napi_create_buffer_copy(env, bytes.len(), bytes.as_ptr().cast(), &mut out, &mut result);
        if status != sys::Status::napi_ok {
            return Err(napi::Error::new(Status::from(status), "cannot create the batch's Buffer"));
        }
        Ok(result)
    }
}

impl ToNapiValue for BatchEntries {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
        let words = val.0;
        let len = words.len() * 4;
        if words.is_empty() || len >= COPY_BELOW {
            return Uint32Array::to_napi_value(env, Uint32Array::new(words));
        }
        let mut data: *mut std::ffi::c_void = std::ptr::null_mut();
        let mut buffer = std::ptr::null_mut();
        let mut result = std::ptr::null_mut();
        if sys::napi_create_arraybuffer(env, len, &mut data, &mut buffer) != sys::Status::napi_ok || data.is_null() {
            return Err(napi::Error::new(Status::GenericFailure, "cannot create the batch's entries"));
        }
        // SAFETY: `data` is a fresh allocation of `len` bytes; `words` holds `len` bytes.
        std::ptr::copy_nonoverlapping(words.as_ptr().cast::<u8>(), data.cast::<u8>(), len);
        let status = sys::napi_create_typedarray(env, sys::TypedarrayType::uint32_array, words.len(), buffer, 0, &mut result);
        if status != sys::Status::napi_ok {
            return Err(napi::Error::new(Status::from(status), "cannot create the batch's entries"));
        }
        Ok(result)
    }
}

fn peer_event(event: Event) -> Option<NativePeerEvent> {
    let (kind, peer, reason, existing, rejected) = match event {
        Event::PeerUp(peer) => ("peer-up", peer, None, None, None),
        Event::PeerChanged(peer) => ("peer-changed", peer, None, None, None),
        Event::PeerDown { peer, reason } => ("peer-down", peer, Some(reason.as_str()), None, None),
        Event::NameClash { newcomer, existing, rejected } => {
            ("name-clash", newcomer, None, Some(existing.to_string()), Some(rejected))
        }
        // glue-io hands on peer events only.
        _ => return None,
    };
    let extensions = peer
        .extension_records()
        .map(|(kind, value)| NativeAnnounceExtension { kind: kind.into(), value: value.to_vec().into() })
        .collect();
    let PeerInfo { id, name, address, announce_period, .. } = peer;
    Some(NativePeerEvent {
        kind: kind.to_owned(),
        id: id.to_string(),
        name,
        address: address.to_string(),
        announce_period_ms: announce_period.as_millis() as f64,
        reason: reason.map(str::to_owned),
        existing_id: existing,
        rejected,
        extensions,
    })
}

/// Hands batches to JavaScript. Ready while fewer than [`BATCH_QUEUE`] batches wait for the JavaScript
/// thread (so a call never blocks: a busy JavaScript thread pauses reading, not announcing). Once the
/// function is closing (the environment is shutting down), reports the consumer as gone.
pub struct JsSink {
    function: BatchFn,
    /// Batches handed over and not yet taken by the JavaScript thread (shared with the callback).
    queued: Arc<AtomicUsize>,
}

impl JsSink {
    /// A sink over `function`, whose callback decrements `queued` as it takes each batch.
    pub fn new(function: BatchFn, queued: Arc<AtomicUsize>) -> Self {
        JsSink { function, queued }
    }
}

impl glue_io::Sink for JsSink {
    fn ready(&mut self) -> bool {
        self.queued.load(Ordering::Acquire) < BATCH_QUEUE
    }

    fn deliver(&mut self, batch: InboundBatch) -> bool {
        self.queued.fetch_add(1, Ordering::AcqRel);
        let ok = self.function.call(batch, ThreadsafeFunctionCallMode::Blocking) == Status::Ok;
        if !ok {
            self.queued.fetch_sub(1, Ordering::AcqRel);
        }
        ok
    }
}
