//! Receiving on the JavaScript thread (`receiveOn: 'js'`): the endpoint's sockets are watched by libuv poll handles
//! on Node's own event loop, so that a datagram wakes one thread — the JavaScript thread, which reads it, runs the
//! protocol core under the engine lock ([`glue_io::Endpoint::receive_here`]) and calls `onBatch` at once, as
//! `node:dgram` does. The I/O thread keeps the timers, announcements and queued commands; the batches it makes (a
//! deadline that passed, a peer that expired) wait in the engine and a `uv_async_t` tells this thread to take them,
//! in order with its own. While traffic is heavy the I/O thread reads instead (glue-io moves reading by traffic):
//! the poll handles are stopped then, and started again when a round says that this thread reads once more.
//!
//! Every libuv call is made on the JavaScript thread, except `uv_async_send` ([`UvNotify`]), which libuv allows from
//! any thread and which is never made after the async handle was closed. The handles and the receiver live until
//! the last close callback ran (see [`JsReceiver::stop`]).

use std::cell::{Cell, RefCell};
use std::ffi::c_void;
use std::os::fd::{AsRawFd, OwnedFd};
use std::ptr;
use std::rc::Rc;
use std::sync::{Arc, Mutex};

use glue_io::{Endpoint, InboundBatch};
use napi::bindgen_prelude::ToNapiValue;
use napi::sys;

use crate::batch::NativeBatch;
use crate::uv::{uv, Handle, Uv, UvHandle, UV_READABLE};

/// Tells the JavaScript thread that batches wait in the engine (the I/O thread's). Safe from any thread.
pub struct UvNotify {
    /// The async handle while it is open; `None` once it is being closed.
    handle: Mutex<Option<SendHandle>>,
}

struct SendHandle(*mut UvHandle);
// SAFETY: only `uv_async_send` is called on it from other threads, which libuv allows; under the mutex, so never
// after `close` took it.
unsafe impl Send for SendHandle {}

impl UvNotify {
    /// Wakes the JavaScript thread (its async handle), unless the handle is closed or closing.
    pub fn ping(&self) {
        let handle = self.handle.lock().unwrap_or_else(|e| e.into_inner());
        if let (Some(h), Some(uv)) = (handle.as_ref(), uv()) {
            // SAFETY: the handle is open (it is taken out under this lock before it is closed).
            unsafe { (uv.async_send)(h.0) };
        }
    }

    /// A notifier without a handle yet ([`JsReceiver::start`] gives it one).
    pub fn new() -> Arc<UvNotify> {
        Arc::new(UvNotify { handle: Mutex::new(None) })
    }

    fn set(&self, handle: Option<*mut UvHandle>) {
        *self.handle.lock().unwrap_or_else(|e| e.into_inner()) = handle.map(SendHandle);
    }
}

/// The JavaScript thread's handle of a running receiver: empty once it was stopped — by `close()`, the finalizer
/// or the environment's teardown (a Worker ending, Node exiting), whichever comes first.
pub type ReceiverSlot = Rc<Cell<Option<*const JsReceiver>>>;

/// The JavaScript-thread side of one endpoint: its poll and async handles, the `onBatch` function, the batches of
/// a round. Created by [`JsReceiver::start`], which leaks it into the handles' data; freed by the last close
/// callback after [`JsReceiver::stop`].
///
/// An async cleanup hook (`napi_add_async_cleanup_hook`) stops it when the environment is torn down with the
/// endpoint open, and is removed by the last close callback: Node keeps the loop of a terminating Worker running
/// until then, so that no handle is left open or closing when the loop is closed.
pub struct JsReceiver {
    endpoint: Arc<Endpoint>,
    env: sys::napi_env,
    on_batch: sys::napi_ref,
    async_context: sys::napi_async_context,
    /// Kept open while the poll handles watch them (dups of the endpoint's sockets); closed as soon as the poll
    /// handles are (`uv_close` stops watching at once, before its callback), so that the ports are free when
    /// `close()` resolves.
    fds: RefCell<Option<[OwnedFd; 2]>>,
    polls: [*mut UvHandle; 2],
    wake: *mut UvHandle,
    notify: Arc<UvNotify>,
    batches: RefCell<Vec<InboundBatch>>,
    in_round: Cell<bool>,
    stopped: Cell<bool>,
    polling: Cell<bool>,
    /// Handles not closed yet; the receiver is freed when it reaches 0.
    open_handles: Cell<u32>,
    /// Which of [polls[0], polls[1], wake] libuv knows (initialised, not yet closed).
    live: Cell<[bool; 3]>,
    /// Shared with the endpoint object; emptied by whoever stops the receiver first.
    slot: ReceiverSlot,
    /// The teardown hook while registered (null if registering failed).
    teardown: Cell<sys::napi_async_cleanup_hook_handle>,
}

impl JsReceiver {
    /// Starts receiving on this thread for `endpoint` (opened in caller mode with `notify`), calling `on_batch`
    /// (a JavaScript function) with every batch. `None` when libuv is not there or a handle cannot be made (the
    /// endpoint then fails to open: see `NativeEndpoint::open`, which reads on the I/O thread when libuv is missing).
    ///
    /// # Safety
    /// `env` is the current environment and `on_batch` a function value of it; on the JavaScript thread.
    pub unsafe fn start(
        env: sys::napi_env,
        on_batch: sys::napi_value,
        endpoint: Arc<Endpoint>,
        notify: Arc<UvNotify>,
    ) -> Option<ReceiverSlot> {
        let uv = uv()?;
        let fds = endpoint.caller_sockets().ok()?;
        let mut lp: *mut sys::uv_loop_s = ptr::null_mut();
        if sys::napi_get_uv_event_loop(env, &mut lp) != sys::Status::napi_ok || lp.is_null() {
            return None;
        }
        let lp = lp as *mut c_void;
        let mut on_batch_ref = ptr::null_mut();
        if sys::napi_create_reference(env, on_batch, 1, &mut on_batch_ref) != sys::Status::napi_ok {
            return None;
        }
        let mut name = ptr::null_mut();
        let label = "glue:batch";
        sys::napi_create_string_utf8(env, label.as_ptr().cast(), label.len() as isize, &mut name);
        let mut async_context = ptr::null_mut();
        let mut resource = ptr::null_mut();
        sys::napi_create_object(env, &mut resource);
        if sys::napi_async_init(env, resource, name, &mut async_context) != sys::Status::napi_ok {
            sys::napi_delete_reference(env, on_batch_ref);
            return None;
        }
        let polls = [Handle::new().leak(), Handle::new().leak()];
        let wake = Handle::new().leak();
        let receiver = Box::into_raw(Box::new(JsReceiver {
            endpoint,
            env,
            on_batch: on_batch_ref,
            async_context,
            fds: RefCell::new(Some(fds)),
            polls,
            wake,
            notify,
            batches: RefCell::new(Vec::new()),
            in_round: Cell::new(false),
            stopped: Cell::new(false),
            polling: Cell::new(false),
            open_handles: Cell::new(0),
            live: Cell::new([false; 3]),
            slot: Rc::new(Cell::new(None)),
            teardown: Cell::new(ptr::null_mut()),
        }));
        let r = &*receiver;
        // Initialise every handle; after a failure, close what was initialised and free what was not.
        let mut live = [false; 3];
        live[2] = (uv.async_init)(lp, wake, on_wake) == 0;
        let raw = r.fds.borrow().as_ref().map_or([-1, -1], |fds| [fds[0].as_raw_fd(), fds[1].as_raw_fd()]);
        for i in 0..2 {
            live[i] = live[2] && (i == 0 || live[0]) && (uv.poll_init)(lp, polls[i], raw[i]) == 0;
        }
        let handles = [polls[0], polls[1], wake];
        for (i, &h) in handles.iter().enumerate() {
            if live[i] {
                (uv.handle_set_data)(h, receiver.cast());
                (uv.unref)(h);
            } else {
                Handle::reclaim(h);
            }
        }
        r.live.set(live);
        r.open_handles.set(live.iter().filter(|&&l| l).count() as u32);
        if live.contains(&false) {
            r.stopped.set(true);
            r.close_handles(uv);
            return None;
        }
        r.notify.set(Some(wake));
        r.start_polling(uv);
        // Whatever arrived before the handles existed waits in the socket (level-triggered polls see it); batches
        // the I/O thread queued meanwhile were notified to nobody: a first round on the next loop turn takes them.
        (uv.async_send)(wake);
        r.slot.set(Some(receiver));
        let mut hook = ptr::null_mut();
        if sys::napi_add_async_cleanup_hook(env, Some(on_teardown), receiver.cast(), &mut hook) == sys::Status::napi_ok {
            r.teardown.set(hook);
        }
        Some(r.slot.clone())
    }

    unsafe fn start_polling(&self, uv: &Uv) {
        if !self.live.get()[0] || self.polling.replace(true) {
            return;
        }
        for &h in &self.polls {
            (uv.poll_start)(h, UV_READABLE, on_readable);
        }
    }

    unsafe fn stop_polling(&self, uv: &Uv) {
        if !self.polling.replace(false) {
            return;
        }
        for &h in &self.polls {
            (uv.poll_stop)(h);
        }
    }

    /// One round: what waits in the engine and what the sockets hold, as batches, each handed to `onBatch` in a
    /// callback scope of its own (so microtasks run after each, as with the threadsafe function).
    unsafe fn round(&self) {
        if self.stopped.get() || self.in_round.replace(true) {
            return;
        }
        let mut batches = self.batches.take();
        let round = self.endpoint.receive_here(&mut batches);
        // Not reading: closing, or the I/O thread reads while traffic is heavy (it notifies when it gives
        // reading back, and that round says `reading` again).
        if let Some(uv) = uv() {
            if round.reading {
                self.start_polling(uv);
            } else {
                self.stop_polling(uv);
            }
        }
        for batch in batches.drain(..) {
            if self.stopped.get() {
                break; // closed by a callback: TypeScript ignores batches once closing
            }
            self.call(batch);
        }
        self.batches.replace(batches);
        if !self.stopped.get() {
            self.endpoint.after_round();
        }
        self.in_round.set(false);
    }

    /// Calls `onBatch(batch)` through `napi_make_callback` (microtasks and `nextTick`s run before it returns); an
    /// exception becomes an uncaught exception, as with the threadsafe function.
    unsafe fn call(&self, batch: InboundBatch) {
        let env = self.env;
        let mut scope = ptr::null_mut();
        if sys::napi_open_handle_scope(env, &mut scope) != sys::Status::napi_ok {
            return;
        }
        let mut func = ptr::null_mut();
        let mut global = ptr::null_mut();
        sys::napi_get_reference_value(env, self.on_batch, &mut func);
        sys::napi_get_global(env, &mut global);
        if let Ok(arg) = NativeBatch::to_napi_value(env, NativeBatch::from_io(batch)) {
            let mut result = ptr::null_mut();
            let status = sys::napi_make_callback(env, self.async_context, global, func, 1, &arg, &mut result);
            if status == sys::Status::napi_pending_exception {
                let mut err = ptr::null_mut();
                sys::napi_get_and_clear_last_exception(env, &mut err);
                sys::napi_fatal_exception(env, err);
            }
        }
        sys::napi_close_handle_scope(env, scope);
    }

    /// Stops receiving here for good: nobody reads any more ([`glue_io::Endpoint::stop_caller`]), the handles
    /// close (the receiver is freed by the last close callback). Idempotent. On the JavaScript thread.
    ///
    /// # Safety
    /// `this` came from [`JsReceiver::start`] and its last close callback has not run.
    pub unsafe fn stop(this: *const JsReceiver) {
        let r = &*this;
        if r.stopped.replace(true) {
            return;
        }
        r.endpoint.stop_caller();
        if let Some(uv) = uv() {
            r.close_handles(uv);
        }
    }

    unsafe fn close_handles(&self, uv: &Uv) {
        self.notify.set(None);
        self.stop_polling(uv);
        let live = self.live.replace([false; 3]);
        for (i, h) in [self.polls[0], self.polls[1], self.wake].into_iter().enumerate() {
            if live[i] {
                (uv.close)(h, Some(on_closed));
            }
        }
        // libuv no longer watches them (closing a poll handle stops it at once): close the duplicates now.
        drop(self.fds.take());
        if self.open_handles.get() == 0 {
            drop(Box::from_raw(self as *const JsReceiver as *mut JsReceiver));
        }
    }
}

impl Drop for JsReceiver {
    fn drop(&mut self) {
        // SAFETY: on the JavaScript thread (the last close callback), the environment still open (a teardown waits
        // for the hook's removal, which is the last thing done here).
        unsafe {
            sys::napi_delete_reference(self.env, self.on_batch);
            sys::napi_async_destroy(self.env, self.async_context);
            let hook = self.teardown.replace(ptr::null_mut());
            if !hook.is_null() {
                sys::napi_remove_async_cleanup_hook(hook);
            }
        }
    }
}

/// The environment is being torn down (a Worker ends, Node exits) with the receiver alive: stop it, unless it was
/// stopped already; its last close callback removes this hook (see [`JsReceiver`]).
unsafe extern "C" fn on_teardown(_hook: sys::napi_async_cleanup_hook_handle, data: *mut c_void) {
    // SAFETY: the receiver is alive: it removes this hook before it is freed.
    let r = &*(data as *const JsReceiver);
    if let Some(receiver) = r.slot.take() {
        JsReceiver::stop(receiver);
    }
}

/// A socket is readable.
unsafe extern "C" fn on_readable(handle: *mut UvHandle, _status: i32, _events: i32) {
    // A failed poll (status < 0) reads all the same: the read reports what is wrong and nothing is lost.
    if let Some(r) = receiver_of(handle) {
        r.round();
    }
}

/// The I/O thread queued batches.
unsafe extern "C" fn on_wake(handle: *mut UvHandle) {
    if let Some(r) = receiver_of(handle) {
        r.round();
    }
}

unsafe fn receiver_of<'a>(handle: *mut UvHandle) -> Option<&'a JsReceiver> {
    let uv = uv()?;
    let data = (uv.handle_get_data)(handle) as *const JsReceiver;
    (!data.is_null()).then(|| &*data)
}

/// A handle finished closing: free it, and the receiver with the last one.
unsafe extern "C" fn on_closed(handle: *mut UvHandle) {
    let Some(uv) = uv() else { return };
    let data = (uv.handle_get_data)(handle) as *const JsReceiver;
    Handle::reclaim(handle);
    if data.is_null() {
        return;
    }
    let r = &*data;
    let left = r.open_handles.get().saturating_sub(1);
    r.open_handles.set(left);
    if left == 0 && !r.in_round.get() {
        drop(Box::from_raw(data as *mut JsReceiver));
    }
}
