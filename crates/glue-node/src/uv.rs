//! The libuv functions of the Node process that receiving on the JavaScript thread needs (`uv_poll_t` on the
//! sockets, a `uv_async_t` for the I/O thread's batches). The node binary exports them, but they are looked up at
//! run time (`dlsym`), not linked: the addon is linked with immediate binding, so a host without libuv symbols (an
//! embedder, another runtime) must still load it — there [`uv`] is `None` and the endpoint receives on its I/O thread
//! as before. Handles are opaque memory of `uv_handle_size(kind)` bytes, allocated here and freed in their close
//! callback (see [`Handle`]).

use std::ffi::{c_char, c_int, c_void, CStr};
use std::sync::OnceLock;

/// An opaque libuv handle (`uv_handle_t`, `uv_poll_t`, `uv_async_t`).
pub type UvHandle = c_void;
/// `uv_poll_cb`.
pub type PollCb = unsafe extern "C" fn(handle: *mut UvHandle, status: c_int, events: c_int);
/// `uv_async_cb`.
pub type AsyncCb = unsafe extern "C" fn(handle: *mut UvHandle);
/// `uv_close_cb`.
pub type CloseCb = unsafe extern "C" fn(handle: *mut UvHandle);

/// `uv_handle_type` values (`UV_UNKNOWN_HANDLE` = 0, then uv.h's `UV_HANDLE_TYPE_MAP` order).
pub const UV_ASYNC: c_int = 1;
/// See [`UV_ASYNC`].
pub const UV_POLL: c_int = 8;
/// `uv_poll_event::UV_READABLE`.
pub const UV_READABLE: c_int = 1;

/// Bytes reserved per handle: more than any libuv handle needs on the platforms we build for (160 for a poll
/// handle on Linux x86-64, libuv 1.46); checked against `uv_handle_size` before use.
const HANDLE_BYTES: usize = 512;

/// The functions, resolved once.
pub struct Uv {
    pub handle_size: unsafe extern "C" fn(kind: c_int) -> usize,
    pub poll_init: unsafe extern "C" fn(lp: *mut c_void, handle: *mut UvHandle, fd: c_int) -> c_int,
    pub poll_start: unsafe extern "C" fn(handle: *mut UvHandle, events: c_int, cb: PollCb) -> c_int,
    pub poll_stop: unsafe extern "C" fn(handle: *mut UvHandle) -> c_int,
    pub async_init: unsafe extern "C" fn(lp: *mut c_void, handle: *mut UvHandle, cb: AsyncCb) -> c_int,
    /// The only one that may be called from another thread.
    pub async_send: unsafe extern "C" fn(handle: *mut UvHandle) -> c_int,
    pub close: unsafe extern "C" fn(handle: *mut UvHandle, cb: Option<CloseCb>),
    pub unref: unsafe extern "C" fn(handle: *mut UvHandle),
    pub handle_set_data: unsafe extern "C" fn(handle: *mut UvHandle, data: *mut c_void),
    pub handle_get_data: unsafe extern "C" fn(handle: *const UvHandle) -> *mut c_void,
}

/// The libuv functions of this process, or `None` when one of them is missing (or `GLUE_NO_UV` is set: tests use it
/// to take the fallback path).
pub fn uv() -> Option<&'static Uv> {
    static UV: OnceLock<Option<Uv>> = OnceLock::new();
    UV.get_or_init(|| if std::env::var_os("GLUE_NO_UV").is_some() { None } else { load() }).as_ref()
}

fn load() -> Option<Uv> {
    /// A symbol of the process, as a function pointer of type `F` (the caller names the right type).
    unsafe fn sym<F: Copy>(name: &CStr) -> Option<F> {
        let p = libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr() as *const c_char);
        if p.is_null() {
            return None;
        }
        debug_assert_eq!(std::mem::size_of::<F>(), std::mem::size_of::<*mut c_void>());
        Some(std::mem::transmute_copy::<*mut c_void, F>(&p))
    }
    // SAFETY: each name is looked up with the signature uv.h gives it (libuv ≥ 1.19 for the data accessors).
    let uv = unsafe {
        Uv {
            handle_size: sym(c"uv_handle_size")?,
            poll_init: sym(c"uv_poll_init")?,
            poll_start: sym(c"uv_poll_start")?,
            poll_stop: sym(c"uv_poll_stop")?,
            async_init: sym(c"uv_async_init")?,
            async_send: sym(c"uv_async_send")?,
            close: sym(c"uv_close")?,
            unref: sym(c"uv_unref")?,
            handle_set_data: sym(c"uv_handle_set_data")?,
            handle_get_data: sym(c"uv_handle_get_data")?,
        }
    };
    // SAFETY: uv_handle_size only reads a table.
    let fits = [UV_POLL, UV_ASYNC].iter().all(|&kind| unsafe { (uv.handle_size)(kind) } <= HANDLE_BYTES);
    fits.then_some(uv)
}

/// Memory for one libuv handle: zeroed, 16-byte aligned, never moved. Give it to libuv with [`Handle::leak`] and
/// get it back in the close callback with [`Handle::reclaim`], which frees it.
pub struct Handle(Box<[u128; HANDLE_BYTES / 16]>);

impl Handle {
    /// New zeroed memory.
    pub fn new() -> Handle {
        Handle(Box::new([0; HANDLE_BYTES / 16]))
    }

    /// The raw pointer libuv works with; the memory lives until [`Handle::reclaim`].
    pub fn leak(self) -> *mut UvHandle {
        Box::into_raw(self.0) as *mut UvHandle
    }

    /// Frees the memory of a handle made by [`Handle::leak`] (in its close callback, once libuv is done with it).
    ///
    /// # Safety
    /// `handle` came from [`Handle::leak`] and is not used afterwards.
    pub unsafe fn reclaim(handle: *mut UvHandle) {
        drop(Box::from_raw(handle as *mut [u128; HANDLE_BYTES / 16]));
    }
}
