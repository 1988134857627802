//! `NativeEndpoint`: the JavaScript class over [`glue_io::Endpoint`].

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use glue_io::{Endpoint, EndpointId, InboundBatch};
use napi::bindgen_prelude::{AsyncTask, Function, ObjectFinalize, Uint8ArraySlice};
use napi::{CleanupEnvHook, Env, JsValue, Task};
use napi_derive::napi;

use crate::batch::{BatchFn, JsSink, NativeBatch, BATCH_QUEUE};
#[cfg(unix)]
use crate::receive::{JsReceiver, ReceiverSlot, UvNotify};
/// The JavaScript thread's receiver (see `receive.rs`; none off Unix).
#[cfg(not(unix))]
type ReceiverSlot = ();
use crate::error::{error, Code, Converted, Failure, JsError};
use crate::{NativeConfig, NativePeerStats, NativeStats};

/// How long the goodbye may take when Node exits with the endpoint still open.
const EXIT_CLOSE_TIMEOUT: Duration = Duration::from_millis(200);

type ExitHook = CleanupEnvHook<Weak<Endpoint>>;

/// A native endpoint: its sockets and I/O thread. Implements `NativeTransport` of
/// `src/transport/native-types.ts`.
///
/// The `onBatch` function is held weakly: an open endpoint does not keep Node running by itself. When
/// Node exits with the endpoint open, it still says goodbye (waiting at most 200 ms).
#[napi(custom_finalize)]
pub struct NativeEndpoint {
    inner: Arc<Endpoint>,
    id: String,
    address: String,
    /// Removed on close (interior mutability: `close` takes `&self`, so that a pending close does not
    /// hold an exclusive borrow of the object).
    exit_hook: Cell<Option<ExitHook>>,
    /// With `receiveOn: 'js'`: the JavaScript thread's receiver, stopped on close (or at the environment's
    /// teardown, which empties the slot).
    receiver: Option<ReceiverSlot>,
}

#[napi]
impl NativeEndpoint {
    /// Opens an endpoint; `onBatch` gets every batch of inbound messages and peer events.
    /// Throws an Error with `code` ERR_GLUE_INVALID_OPTION, ERR_GLUE_ADDRESS_IN_USE,
    /// ERR_GLUE_INTERFACE_NOT_FOUND or ERR_GLUE_SOCKET.
    #[napi(factory)]
    pub fn open(
        env: Env,
        config: NativeConfig,
        #[napi(ts_arg_type = "(batch: NativeBatch) => void")] on_batch: Function<NativeBatch, ()>,
    ) -> Result<NativeEndpoint, JsError> {
        let io_config = config.to_io()?;
        #[cfg(unix)]
        if config.receive_on_js()? && crate::uv::uv().is_some() {
            return Self::open_receiving_here(env, io_config, on_batch);
        }
        let queued = Arc::new(AtomicUsize::new(0));
        let taken = queued.clone();
        let callback: BatchFn = on_batch
            .build_threadsafe_function::<InboundBatch>()
            .callee_handled::<false>()
            .weak::<true>()
            .max_queue_size::<BATCH_QUEUE>()
            .build_callback(move |ctx| {
                taken.fetch_sub(1, Ordering::AcqRel);
                Ok(NativeBatch::from_io(ctx.value))
            })
            .map_err(napi_error)?;
        let inner = Arc::new(Endpoint::open(io_config, JsSink::new(callback, queued)).map_err(js)?);
        Ok(NativeEndpoint::new(&env, inner, None))
    }

    /// Own endpoint ID, 16 hex digits.
    #[napi(getter)]
    pub fn id(&self) -> String {
        self.id.clone()
    }

    /// Own unicast address "ip:port" after binding.
    #[napi(getter)]
    pub fn address(&self) -> String {
        self.address.clone()
    }

    /// Queues a best-effort unicast to a peer; false when the send queue was full (dropped, counted).
    /// Throws ERR_GLUE_MESSAGE_TOO_LARGE, ERR_GLUE_CLOSED, or ERR_GLUE_UNKNOWN_PEER for an ID that is not
    /// 16 hex digits.
    #[napi]
    pub fn send(&self, peer_id: String, data: Uint8ArraySlice) -> Result<bool, JsError> {
        self.inner.send(peer(&peer_id)?, &data).map_err(js)
    }

    /// Queues a best-effort multicast to every endpoint; false when the send queue was full.
    #[napi]
    pub fn broadcast(&self, data: Uint8ArraySlice) -> Result<bool, JsError> {
        self.inner.broadcast(&data).map_err(js)
    }

    /// Queues a reliable unicast (fragmented as needed); its outcome arrives in a later batch under
    /// `token` (Delivered, Failed or Refused entries). False when the command queue was full (nothing
    /// queued, nothing will be reported). `deadlineMs` defaults to the configured delivery deadline.
    #[napi]
    pub fn send_reliable(
        &self,
        peer_id: String,
        data: Uint8ArraySlice,
        token: u32,
        deadline_ms: Option<f64>,
    ) -> Result<bool, JsError> {
        let deadline = deadline(deadline_ms)?;
        self.inner.send_reliable(peer(&peer_id)?, data.to_vec(), token, deadline).map_err(js)
    }

    /// Queues a reliable multicast to every peer; reported like `sendReliable`.
    #[napi]
    pub fn broadcast_reliable(
        &self,
        data: Uint8ArraySlice,
        token: u32,
        deadline_ms: Option<f64>,
    ) -> Result<bool, JsError> {
        let deadline = deadline(deadline_ms)?;
        self.inner.broadcast_reliable(data.to_vec(), token, deadline).map_err(js)
    }

    /// Queues many messages at once: `slab` holds records (24-byte header + payload each, see
    /// `glue_io::slab` and `src/transport/send-slab.ts`), each then handled exactly like one `sendReliable` /
    /// `broadcastReliable` (reported under its token) or `send` / `broadcast` (best-effort records). One
    /// copy, one queue slot, one wake-up for all. False when the command queue was full (nothing queued;
    /// best-effort records counted as dropped). Throws ERR_GLUE_MESSAGE_TOO_LARGE, ERR_GLUE_CLOSED, or
    /// InvalidArg for a malformed slab (nothing queued).
    #[napi]
    pub fn send_slab(&self, slab: Uint8ArraySlice) -> Result<bool, JsError> {
        self.inner.send_slab(&slab).map_err(js)
    }

    /// Ignores this peer from now on (the accept filter said no). Does nothing once closed.
    #[napi]
    pub fn reject_peer(&self, peer_id: String) -> Result<(), JsError> {
        let id = peer(&peer_id)?;
        match self.inner.reject_peer(id) {
            Ok(()) | Err(glue_io::Error::Closed) => Ok(()),
            Err(e) => Err(js(e)),
        }
    }

    /// Sets (or, with an empty value, removes) this endpoint's announcement extension of type `type`
    /// (0..255): every later announcement carries it, and a short burst of announcements spreads it at
    /// once; peers see a 'peer-changed' event with the new value. Throws ERR_GLUE_MESSAGE_TOO_LARGE when the
    /// announcement would not fit into one datagram, ERR_GLUE_INVALID_OPTION for a type outside 0..255,
    /// ERR_GLUE_CLOSED after close.
    #[napi]
    pub fn set_announce_extension(&self, kind: u32, value: Uint8ArraySlice) -> Result<(), JsError> {
        let kind = u8::try_from(kind)
            .map_err(|_| crate::error::invalid_option("type", &kind.to_string(), "an integer 0..255"))?;
        self.inner.set_announce_extension(kind, &value).map_err(js)
    }

    /// Replaces the network keys (64 hex digits each): the first seals from now on, all are accepted. Throws
    /// ERR_GLUE_INVALID_OPTION for a bad, repeated or missing key or an endpoint opened without keys, ERR_GLUE_CLOSED
    /// after close.
    #[napi]
    pub fn set_network_keys(&self, keys: Vec<String>) -> Result<(), JsError> {
        let keys = crate::config::network_keys(&keys)?;
        self.inner.set_network_keys(keys).map_err(js)
    }

    /// Replaces the unicast peer addresses ("ip:port" each, resolved by TypeScript): new ones get an announcement
    /// at once. ERR_GLUE_INVALID_OPTION for a bad address (nothing changes), ERR_GLUE_CLOSED after close.
    #[napi]
    pub fn set_peers(&self, peers: Vec<String>) -> Result<(), JsError> {
        let peers = crate::config::peer_addresses(&peers)?;
        self.inner.set_peers(peers).map_err(js)
    }

    /// Round trip, resends and queue depths of every accepted peer, computed on demand.
    #[napi]
    pub fn peer_stats(&self) -> Vec<NativePeerStats> {
        self.inner.peer_stats().into_iter().map(NativePeerStats::from).collect()
    }

    /// Measures the round trip to every peer with one heartbeat each (answered by an ACK); peerStats() shows it once
    /// answered. Returns how many probes went out. Throws ERR_GLUE_CLOSED after close.
    #[napi]
    pub fn probe_peers(&self) -> Result<u32, JsError> {
        self.inner.probe_peers().map(|n| n as u32).map_err(js)
    }

    /// The counters (the last ones after close).
    #[napi]
    pub fn stats(&self) -> NativeStats {
        self.inner.stats().into()
    }

    /// Sends a goodbye, stops the I/O thread and closes the sockets (off the JavaScript thread).
    /// Idempotent.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn close(&self, env: Env) -> AsyncTask<CloseTask> {
        self.remove_exit_hook(&env);
        self.stop_receiver();
        AsyncTask::new(CloseTask(self.inner.clone()))
    }
}

impl NativeEndpoint {
    fn new(env: &Env, inner: Arc<Endpoint>, receiver: Option<ReceiverSlot>) -> NativeEndpoint {
        let exit_hook = env
            .add_env_cleanup_hook(Arc::downgrade(&inner), |endpoint| {
                if let Some(endpoint) = endpoint.upgrade() {
                    endpoint.close_timeout(EXIT_CLOSE_TIMEOUT);
                }
            })
            .ok();
        NativeEndpoint {
            id: inner.id().to_string(),
            address: inner.local_addr().to_string(),
            inner,
            exit_hook: Cell::new(exit_hook),
            receiver,
        }
    }

    /// `receiveOn: 'js'`: the endpoint in caller mode, its sockets watched on this thread's event loop.
    #[cfg(unix)]
    fn open_receiving_here(
        env: Env,
        io_config: glue_io::IoConfig,
        on_batch: Function<NativeBatch, ()>,
    ) -> Result<NativeEndpoint, JsError> {
        let notify = UvNotify::new();
        let ping = notify.clone();
        let inner = Arc::new(Endpoint::open_caller(io_config, move || ping.ping()).map_err(js)?);
        // SAFETY: on the JavaScript thread, with this call's environment and function.
        let receiver = unsafe { JsReceiver::start(env.raw(), on_batch.raw(), inner.clone(), notify) };
        let Some(receiver) = receiver else {
            inner.close_timeout(EXIT_CLOSE_TIMEOUT);
            return Err(error(
                Code::Socket,
                "cannot watch the sockets on the JavaScript thread (receiveOn: 'js')",
            )
            .into());
        };
        Ok(NativeEndpoint::new(&env, inner, Some(receiver)))
    }

    /// Stops the JavaScript thread's receiver, if any (before the endpoint closes).
    fn stop_receiver(&self) {
        #[cfg(unix)]
        if let Some(r) = self.receiver.as_ref().and_then(|slot| slot.take()) {
            // SAFETY: made by JsReceiver::start for this endpoint, stopped once (taken out of the slot here).
            unsafe { JsReceiver::stop(r) };
        }
    }

    fn remove_exit_hook(&self, env: &Env) {
        if let Some(hook) = self.exit_hook.take() {
            let _ = env.remove_env_cleanup_hook(hook);
        }
    }
}

impl ObjectFinalize for NativeEndpoint {
    /// Garbage-collected without close(): close in the background (the JavaScript thread must not wait
    /// for the I/O thread, which may be waiting for it).
    fn finalize(self, env: Env) -> napi::Result<()> {
        self.remove_exit_hook(&env);
        self.stop_receiver();
        self.inner.close_in_background();
        Ok(())
    }
}

/// Closes an endpoint on a libuv worker thread.
pub struct CloseTask(Arc<Endpoint>);

impl Task for CloseTask {
    type Output = ();
    type JsValue = ();

    fn compute(&mut self) -> napi::Result<()> {
        self.0.close();
        Ok(())
    }

    fn resolve(&mut self, _env: Env, _output: ()) -> napi::Result<()> {
        Ok(())
    }
}

fn deadline(ms: Option<f64>) -> Converted<Option<std::time::Duration>> {
    match ms {
        None => Ok(None),
        Some(ms) if ms.is_finite() && ms >= 0.0 => Ok(Some(std::time::Duration::from_secs_f64(ms / 1000.0))),
        Some(ms) => Err(crate::error::invalid_option("deadlineMs", &ms.to_string(), "a number of ms ≥ 0")),
    }
}

fn peer(id: &str) -> Converted<EndpointId> {
    id.parse().map_err(|_| error(Code::UnknownPeer, format!("no peer {id:?}: a peer ID is 16 hex digits")))
}

fn js(e: glue_io::Error) -> JsError {
    Failure::from(e).into()
}

fn napi_error(e: napi::Error) -> JsError {
    napi::Error::new(Code::Napi(e.status), e.reason.clone())
}
