//! A "caller" thread for endpoints in [`ReceiveMode::Caller`], standing in for the JavaScript thread: it
//! polls the endpoint's socket duplicates and a wake-up socket (its [`glue_io::Notify`]) with poll(2),
//! level-triggered like libuv's poll handles, runs `receive_here`, delivers each batch to a sink and calls
//! `after_round`. [`Ep`] wraps an endpoint of either mode so that tests run unchanged in both: it closes like
//! the binding does (stop reading, close the duplicates, then close the endpoint).

use std::io::ErrorKind;
use std::ops::Deref;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixDatagram;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use glue_io::{Endpoint, InboundBatch, IoConfig, ReceiveMode};

/// The receive mode the shared tests run in: `GLUE_IO_TEST_RECEIVE=caller` for [`ReceiveMode::Caller`],
/// else [`ReceiveMode::IoThread`].
pub fn receive_mode() -> ReceiveMode {
    match std::env::var("GLUE_IO_TEST_RECEIVE").as_deref() {
        Ok("caller") => ReceiveMode::Caller,
        _ => ReceiveMode::IoThread,
    }
}

/// What the caller thread shares with the test.
#[derive(Default)]
pub struct CallerState {
    /// Do not run rounds (a busy JavaScript thread); the sockets are not polled meanwhile.
    pub paused: AtomicBool,
    stop: AtomicBool,
    /// Rounds run.
    pub rounds: AtomicU64,
    /// Rounds that returned `reading: false`.
    pub stopped_rounds: AtomicU64,
    /// Set when the thread stopped polling its socket duplicates (a round said `reading: false`; it polls
    /// again when a later round says `reading`, as after heavy traffic); they are closed when it ends.
    pub released: AtomicBool,
}

/// The caller thread of one endpoint.
pub struct Caller {
    pub state: Arc<CallerState>,
    wake: Arc<UnixDatagram>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Caller {
    /// Stops the thread and waits for it (its socket duplicates are closed then).
    pub fn stop(&self) {
        self.state.stop.store(true, Ordering::SeqCst);
        let _ = self.wake.send(&[1]);
        let thread = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(thread) = thread {
            // Already unwinding (the test failed): do not turn it into an abort.
            if thread.join().is_err() && !std::thread::panicking() {
                panic!("the caller thread panicked");
            }
        }
    }

    /// Pauses or resumes the rounds.
    pub fn pause(&self, paused: bool) {
        self.state.paused.store(paused, Ordering::SeqCst);
        let _ = self.wake.send(&[1]);
    }
}

/// An endpoint opened in either mode, and its caller thread in [`ReceiveMode::Caller`]. Derefs to the
/// endpoint; its `close*` methods and drop stop the caller thread first.
pub struct Ep {
    endpoint: Arc<Endpoint>,
    pub caller: Option<Caller>,
}

impl Deref for Ep {
    type Target = Endpoint;
    fn deref(&self) -> &Endpoint {
        &self.endpoint
    }
}

impl Ep {
    /// The endpoint itself (e.g. for tests that drive rounds by hand).
    pub fn endpoint(&self) -> &Arc<Endpoint> {
        &self.endpoint
    }

    /// The caller thread; panics for an endpoint the I/O thread reads.
    pub fn caller(&self) -> &Caller {
        self.caller.as_ref().expect("a caller-mode endpoint")
    }

    /// Stops reading as the binding does before it closes: `stop_caller`, then the thread ends (closing its
    /// duplicates).
    pub fn stop_reading(&self) {
        if let Some(caller) = &self.caller {
            self.endpoint.stop_caller();
            caller.stop();
        }
    }

    /// [`Endpoint::close`] after [`Ep::stop_reading`].
    pub fn close(&self) {
        self.stop_reading();
        self.endpoint.close();
    }

    /// [`Endpoint::close_timeout`] after [`Ep::stop_reading`].
    pub fn close_timeout(&self, timeout: Duration) -> bool {
        self.stop_reading();
        self.endpoint.close_timeout(timeout)
    }

    /// [`Endpoint::close_in_background`] after [`Ep::stop_reading`].
    pub fn close_in_background(&self) {
        self.stop_reading();
        self.endpoint.close_in_background();
    }
}

impl Drop for Ep {
    fn drop(&mut self) {
        self.stop_reading();
    }
}

/// Opens an endpoint in `mode` whose batches go to `sink` (from the I/O thread, or from a caller thread).
pub fn open_in(
    mode: ReceiveMode,
    config: IoConfig,
    sink: impl FnMut(InboundBatch) -> bool + Send + 'static,
) -> Result<Ep, glue_io::Error> {
    if mode == ReceiveMode::IoThread {
        return Ok(Ep { endpoint: Arc::new(Endpoint::open(config, sink)?), caller: None });
    }
    let (wake, woken) = UnixDatagram::pair().expect("socket pair");
    wake.set_nonblocking(true).unwrap();
    woken.set_nonblocking(true).unwrap();
    let wake = Arc::new(wake);
    let notify = {
        let wake = wake.clone();
        // A full wake-up socket already has a wake-up pending.
        move || drop(wake.send(&[1]))
    };
    let endpoint = Arc::new(Endpoint::open_caller(config, notify)?);
    let fds = endpoint.caller_sockets().expect("caller sockets");
    let state = Arc::new(CallerState::default());
    let thread = {
        let (endpoint, state) = (endpoint.clone(), state.clone());
        std::thread::Builder::new()
            .name("test-caller".into())
            .spawn(move || run(&endpoint, fds, woken, &state, sink))
            .unwrap()
    };
    Ok(Ep { endpoint, caller: Some(Caller { state, wake, thread: Mutex::new(Some(thread)) }) })
}

/// The caller thread's loop.
fn run(
    endpoint: &Endpoint,
    fds: [OwnedFd; 2],
    woken: UnixDatagram,
    state: &CallerState,
    mut sink: impl FnMut(InboundBatch) -> bool,
) {
    let mut watching = true;
    let mut batches = Vec::new();
    let mut consumer_alive = true;
    while !state.stop.load(Ordering::SeqCst) {
        if state.paused.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(2));
            continue;
        }
        let mut watched = vec![woken.as_raw_fd()];
        if watching {
            watched.extend(fds.iter().map(|fd| fd.as_raw_fd()));
        }
        poll_readable(&watched, 50);
        let mut buf = [0u8; 16];
        while woken.recv(&mut buf).is_ok() {}
        if state.stop.load(Ordering::SeqCst) || state.paused.load(Ordering::SeqCst) {
            continue;
        }
        let round = endpoint.receive_here(&mut batches);
        state.rounds.fetch_add(1, Ordering::SeqCst);
        for batch in batches.drain(..) {
            consumer_alive = consumer_alive && sink(batch);
        }
        endpoint.after_round();
        if !round.reading {
            state.stopped_rounds.fetch_add(1, Ordering::SeqCst);
            state.released.store(true, Ordering::SeqCst);
        }
        watching = round.reading;
    }
    drop(fds);
    state.released.store(true, Ordering::SeqCst);
}

/// poll(2) for readability of `fds`, at most `timeout_ms`.
pub fn poll_readable(fds: &[RawFd], timeout_ms: i32) -> Vec<bool> {
    let mut pfds: Vec<libc::pollfd> =
        fds.iter().map(|&fd| libc::pollfd { fd, events: libc::POLLIN, revents: 0 }).collect();
    // SAFETY: `pfds` is a live array of pollfd for the duration of the call; the fds are open (borrowed).
    let rc = unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, timeout_ms) };
    if rc < 0 {
        let e = std::io::Error::last_os_error();
        assert_eq!(e.kind(), ErrorKind::Interrupted, "poll: {e}");
    }
    pfds.iter().map(|p| p.revents & libc::POLLIN != 0).collect()
}
