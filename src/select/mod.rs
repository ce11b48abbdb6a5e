//! `select!`: wait on several channel operations, run the one that happens.
//!
//! ```
//! use std::time::Duration;
//! let (tx, rx) = goro::chan::<&str>(1);
//! let (_quit_tx, quit) = goro::chan::<()>(0);
//! tx.send("ping").unwrap();
//! let got = goro::select! {
//!     recv(rx) -> msg => msg.unwrap(),
//!     recv(quit) -> _ => "quit",
//!     after(Duration::from_millis(50)) => "timeout",
//! };
//! assert_eq!(got, "ping");
//! ```
//!
//! Cases: `recv(r) -> pat => body`, `send(s, value) -> pat => body`,
//! `after(duration) => body` (at most one), `default => body` (at most
//! one). `r` / `s` may be `&Receiver` / `&Sender` or an `Option` of one: a
//! `None` case never fires, like a nil channel in Go.
//!
//! The algorithm is Go's `selectgo`, with a cheaper first pass. The cases
//! are looked at in a random order — so among ready cases each is equally
//! likely — and the first ready one completes:
//!
//! 1. **One channel at a time.** Each case in turn tries its channel's
//!    lock-free fast path, or, when the channel's lock-free readiness hint
//!    says a partner may be waiting, that channel's lock alone. A select
//!    that finds a ready case this way — the usual case of a busy select —
//!    locks one channel, not all of them. If nothing is ready and this
//!    P has other goroutines queued, the select yields to them once and
//!    looks again (`runtime/spin.rs`): they are often its feeders, and a
//!    feeder that queues its send is far cheaper than a select that parks.
//! 2. **All channels at once** (Go's pass 1), when the first pass found
//!    nothing: lock every channel involved (in address order, each once)
//!    and look again in the same order — a hint may have been stale, and
//!    only under all the locks is "nothing is ready" a fact. If still
//!    nothing: take `default` if there is one; otherwise queue one waiter
//!    per case, all sharing one [`context::SelectCtx`], unlock, and park
//!    once. The first channel to claim the context completes its case; on
//!    waking, the select removes its other waiters.
//!
//! No thread or goroutine per case.

pub(crate) mod context;
mod dynamic;

pub use dynamic::{Select, Selected};

use crate::chan::core::{wake_all, Chan, Wakes};
use crate::chan::lock::ChanLock;
use crate::chan::{Receiver, RecvError, SendError, Sender};
use crate::runtime::g::WaitReason;
use crate::runtime::spin;
use context::{SelectCtx, Waiter};
use std::cell::Cell;
use std::time::Instant;

/// One case of a select, type-erased.
pub(crate) trait Case {
    /// The case's channel lock; `None` for a nil case.
    fn lock(&self) -> Option<&ChanLock>;
    /// With no lock held: completes the case if its channel alone says it
    /// can — a lock-free fast path, or the channel's own lock when its
    /// readiness hint says a partner is there. False: not completed (it
    /// may still be ready; the pass under all the locks decides).
    fn try_alone(&mut self, wakes: &mut Wakes) -> bool;
    /// With the lock held: completes the case now if it can.
    ///
    /// # Safety
    /// The channel lock must be held by the caller.
    unsafe fn try_locked(&mut self, wakes: &mut Wakes) -> bool;
    /// With the lock held: queues a waiter for `ctx` as case `index`.
    ///
    /// # Safety
    /// The lock must be held; `self` must not move until `dequeue_locked`.
    unsafe fn enqueue_locked(&mut self, ctx: &SelectCtx, index: usize, wakes: &mut Wakes);
    /// After the wait, with no lock held: makes sure the waiter has left
    /// its queue, taking the channel lock only if a partner has not
    /// already taken it out.
    fn dequeue(&mut self);
    /// The case was completed by a partner: collect the result.
    fn complete(&mut self);
}

/// A case as `select_core` takes it. Implementation detail of `select!`.
#[doc(hidden)]
pub struct CaseRef<'a>(&'a mut dyn Case);

/// How a select ended. Implementation detail of `select!`.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Case `i` happened.
    Case(usize),
    /// The `after` deadline passed.
    Timeout,
    /// Nothing was ready and there is a `default`.
    Default,
}

thread_local! {
    static RNG: Cell<u64> = Cell::new(seed());
}

fn seed() -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let local = 0u8;
    (t ^ (&local as *const u8 as u64)).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1
}

/// Selects with up to this many cases (nearly all) keep their bookkeeping
/// in arrays on the stack; bigger ones on the heap. Either way the code
/// below works on plain slices, with no inline-or-heap test per access.
const INLINE_CASES: usize = 16;

/// A random permutation of `order` (Fisher–Yates), drawing from one
/// thread-local state read and written once.
fn shuffle(order: &mut [usize]) {
    if order.len() < 2 {
        return;
    }
    RNG.with(|r| {
        let mut x = r.get();
        for i in (1..order.len()).rev() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let j = ((x >> 32).wrapping_mul(i as u64 + 1) >> 32) as usize;
            order.swap(i, j);
        }
        r.set(x);
    });
}

/// Runs a select over `cases`. Implementation detail of `select!` and
/// [`Select`].
#[doc(hidden)]
pub fn select_core(
    cases: &mut [CaseRef<'_>],
    deadline: Option<Instant>,
    has_default: bool,
) -> Outcome {
    // Poll order: a random permutation of the non-nil cases (Go's
    // pollorder).
    let mut inline = [0usize; INLINE_CASES];
    let mut spilled = Vec::new();
    let slots: &mut [usize] = if cases.len() <= INLINE_CASES {
        &mut inline[..cases.len()]
    } else {
        spilled.resize(cases.len(), 0);
        &mut spilled
    };
    let mut n = 0;
    for (i, case) in cases.iter().enumerate() {
        if case.0.lock().is_some() {
            slots[n] = i;
            n += 1;
        }
    }
    let order = &mut slots[..n];
    shuffle(order);
    if order.is_empty() {
        return wait_without_channels(deadline, has_default);
    }

    // First pass: one channel at a time (see the module docs) — a second
    // time after letting this P's other goroutines run, if it has any.
    let mut yielded = false;
    loop {
        let mut wakes = Wakes::new();
        for &i in order.iter() {
            if cases[i].0.try_alone(&mut wakes) {
                wake_all(wakes);
                return Outcome::Case(i);
            }
        }
        // A failed try may still have released someone (a stale waiter's
        // claim fails, but a close racing with us, say): never drop a
        // wake-up.
        wake_all(wakes);
        if has_default || yielded || !spin::yield_to_local_work() {
            break;
        }
        yielded = true;
    }
    select_locked(cases, order, deadline, has_default)
}

/// The second pass: under every channel's lock, look again and, if still
/// nothing is ready, queue a waiter per case and park.
#[inline(never)]
fn select_locked(
    cases: &mut [CaseRef<'_>],
    order: &[usize],
    deadline: Option<Instant>,
    has_default: bool,
) -> Outcome {
    // Lock order: each distinct channel once, by address (Go's lockorder).
    let mut inline = [std::ptr::null::<ChanLock>(); INLINE_CASES];
    let mut spilled = Vec::new();
    let slots: &mut [*const ChanLock] = if order.len() <= INLINE_CASES {
        &mut inline[..order.len()]
    } else {
        spilled.resize(order.len(), std::ptr::null());
        &mut spilled
    };
    for (slot, &i) in slots.iter_mut().zip(order) {
        *slot = cases[i].0.lock().expect("order holds non-nil cases only");
    }
    slots.sort_unstable();
    let mut distinct = 0;
    for i in 0..slots.len() {
        if i == 0 || slots[i] != slots[distinct - 1] {
            slots[distinct] = slots[i];
            distinct += 1;
        }
    }
    let locks = &slots[..distinct];
    for &l in locks {
        // SAFETY: the pointers come from live channels borrowed by `cases`
        // for the whole call.
        unsafe { (*l).lock() };
    }
    let unlock_all = |locks: &[*const ChanLock]| {
        for &l in locks.iter().rev() {
            // SAFETY: locked above, by us.
            unsafe { (*l).unlock() };
        }
    };

    let mut wakes = Wakes::new();
    for &i in order {
        // SAFETY: every channel's lock is held.
        if unsafe { cases[i].0.try_locked(&mut wakes) } {
            unlock_all(locks);
            wake_all(wakes);
            return Outcome::Case(i);
        }
    }
    if has_default {
        unlock_all(locks);
        return Outcome::Default;
    }
    if deadline.is_some_and(|d| Instant::now() >= d) {
        unlock_all(locks);
        return Outcome::Timeout;
    }
    let ctx = SelectCtx::new(true);
    for &i in order {
        // SAFETY: locks held; `cases` stays borrowed (unmoved) until every
        // waiter has left its queue below.
        unsafe { cases[i].0.enqueue_locked(&ctx, i, &mut wakes) };
    }
    unlock_all(locks);
    wake_all(wakes);
    crate::runtime::chaos::point("select queued, not yet parked");

    let selected = ctx.wait(deadline, WaitReason::Select);

    // The context is done (or aborted): no partner can complete another
    // case, so each waiter can leave its queue on its own, under its own
    // channel's lock — and without it when a partner already took it out
    // (always so for the case that fired).
    for &i in order {
        cases[i].0.dequeue();
    }

    match selected {
        Some(i) => {
            cases[i].0.complete();
            Outcome::Case(i)
        }
        None => Outcome::Timeout,
    }
}

/// A select whose every channel case is nil.
fn wait_without_channels(deadline: Option<Instant>, has_default: bool) -> Outcome {
    if has_default {
        return Outcome::Default;
    }
    match deadline {
        Some(d) => {
            crate::time::sleep_until(d);
            Outcome::Timeout
        }
        None => {
            // Go's `select {}`: blocks forever.
            loop {
                crate::runtime::park::park(WaitReason::Select);
            }
        }
    }
}

/// A receive case. Implementation detail of `select!`.
#[doc(hidden)]
pub struct RecvCase<'a, T> {
    chan: Option<&'a Chan<T>>,
    waiter: Option<Waiter<T>>,
    result: Option<Result<T, RecvError>>,
}

/// A send case. Implementation detail of `select!`.
#[doc(hidden)]
pub struct SendCase<'a, T> {
    chan: Option<&'a Chan<T>>,
    value: Option<T>,
    waiter: Option<Waiter<T>>,
    result: Option<Result<(), SendError<T>>>,
}

/// What a `recv(...)` case accepts: `&Receiver<T>`, or
/// `Option<&Receiver<T>>` where `None` is Go's nil channel.
pub trait RecvTarget<'a, T> {
    /// The receiver, or `None` for a case that never fires.
    fn receiver(self) -> Option<&'a Receiver<T>>;
}

/// What a `send(...)` case accepts: `&Sender<T>`, or `Option<&Sender<T>>`
/// where `None` is Go's nil channel.
pub trait SendTarget<'a, T> {
    /// The sender, or `None` for a case that never fires.
    fn sender(self) -> Option<&'a Sender<T>>;
}

// The forms a case operand may take. `select!` borrows its operand
// (`recv(rx)` means `&rx`), so the `&&` and `&Option` forms cover
// `recv(rx)`, `recv(&rx)`, `recv(maybe_rx)` and `recv(ctx.done())`; the
// plain forms serve `Select::recv` and `Select::send`.
macro_rules! case_targets {
    ($target:ident, $method:ident, $end:ident) => {
        impl<'a, T> $target<'a, T> for &'a $end<T> {
            fn $method(self) -> Option<&'a $end<T>> {
                Some(self)
            }
        }

        impl<'a, T> $target<'a, T> for Option<&'a $end<T>> {
            fn $method(self) -> Option<&'a $end<T>> {
                self
            }
        }

        impl<'a, T> $target<'a, T> for &&'a $end<T> {
            fn $method(self) -> Option<&'a $end<T>> {
                Some(*self)
            }
        }

        impl<'a, T> $target<'a, T> for &Option<&'a $end<T>> {
            fn $method(self) -> Option<&'a $end<T>> {
                *self
            }
        }

        impl<'a, T> $target<'a, T> for &'a Option<$end<T>> {
            fn $method(self) -> Option<&'a $end<T>> {
                self.as_ref()
            }
        }
    };
}

case_targets!(RecvTarget, receiver, Receiver);
case_targets!(SendTarget, sender, Sender);

impl<'a, T> RecvCase<'a, T> {
    #[doc(hidden)]
    pub fn new(target: impl RecvTarget<'a, T>) -> Self {
        RecvCase {
            chan: target.receiver().map(|r| &*r.chan),
            waiter: None,
            result: None,
        }
    }

    #[doc(hidden)]
    pub fn fired(&self) -> bool {
        self.result.is_some()
    }

    #[doc(hidden)]
    pub fn take(&mut self) -> Result<T, RecvError> {
        self.result.take().expect("select case did not fire")
    }

    #[doc(hidden)]
    pub fn as_case(&mut self) -> CaseRef<'_> {
        CaseRef(self)
    }
}

impl<'a, T> SendCase<'a, T> {
    #[doc(hidden)]
    pub fn new(target: impl SendTarget<'a, T>, value: T) -> Self {
        SendCase {
            chan: target.sender().map(|s| &*s.chan),
            value: Some(value),
            waiter: None,
            result: None,
        }
    }

    #[doc(hidden)]
    pub fn fired(&self) -> bool {
        self.result.is_some()
    }

    #[doc(hidden)]
    pub fn take(&mut self) -> Result<(), SendError<T>> {
        self.result.take().expect("select case did not fire")
    }

    #[doc(hidden)]
    pub fn as_case(&mut self) -> CaseRef<'_> {
        CaseRef(self)
    }
}

impl<T> Case for RecvCase<'_, T> {
    fn lock(&self) -> Option<&ChanLock> {
        self.chan.map(|c| c.raw_lock())
    }

    fn try_alone(&mut self, wakes: &mut Wakes) -> bool {
        let chan = self.chan.expect("nil cases are never polled");
        self.result = chan.select_try_recv(wakes);
        self.result.is_some()
    }

    unsafe fn try_locked(&mut self, wakes: &mut Wakes) -> bool {
        let chan = self.chan.expect("nil cases are never polled");
        // SAFETY: the caller holds the lock.
        let inner = unsafe { chan.inner_locked() };
        match chan.try_recv_locked(inner, wakes) {
            Ok(Some(v)) => self.result = Some(Ok(v)),
            Err(RecvError) => self.result = Some(Err(RecvError)),
            Ok(None) => return false,
        }
        true
    }

    unsafe fn enqueue_locked(&mut self, ctx: &SelectCtx, index: usize, wakes: &mut Wakes) {
        let chan = self.chan.expect("nil cases are never queued");
        let waiter = self.waiter.insert(Waiter::new(ctx, index, None));
        // SAFETY: the caller holds the lock.
        chan.enqueue_locked(unsafe { chan.inner_locked() }, waiter, false, wakes);
    }

    fn dequeue(&mut self) {
        if let (Some(chan), Some(w)) = (self.chan, &self.waiter) {
            if w.maybe_queued() {
                chan.dequeue_locked(&mut chan.lock(), w, false);
            }
        }
    }

    fn complete(&mut self) {
        let w = self.waiter.as_ref().expect("a completed case was queued");
        self.result = Some(w.take().ok_or(RecvError));
    }
}

impl<T> Case for SendCase<'_, T> {
    fn lock(&self) -> Option<&ChanLock> {
        self.chan.map(|c| c.raw_lock())
    }

    fn try_alone(&mut self, wakes: &mut Wakes) -> bool {
        let chan = self.chan.expect("nil cases are never polled");
        let v = self.value.take().expect("send case has its value");
        match chan.select_try_send(v, wakes) {
            Ok(result) => {
                self.result = Some(result);
                true
            }
            Err(v) => {
                self.value = Some(v);
                false
            }
        }
    }

    unsafe fn try_locked(&mut self, wakes: &mut Wakes) -> bool {
        let chan = self.chan.expect("nil cases are never polled");
        let v = self.value.take().expect("send case has its value");
        // SAFETY: the caller holds the lock.
        let inner = unsafe { chan.inner_locked() };
        match chan.try_send_locked(inner, v, wakes) {
            Ok(()) => self.result = Some(Ok(())),
            Err(crate::chan::TrySendError::Closed(v)) => self.result = Some(Err(SendError(v))),
            Err(crate::chan::TrySendError::Full(v)) => {
                self.value = Some(v);
                return false;
            }
        }
        true
    }

    unsafe fn enqueue_locked(&mut self, ctx: &SelectCtx, index: usize, wakes: &mut Wakes) {
        let chan = self.chan.expect("nil cases are never queued");
        let waiter = self
            .waiter
            .insert(Waiter::new(ctx, index, self.value.take()));
        // SAFETY: the caller holds the lock.
        chan.enqueue_locked(unsafe { chan.inner_locked() }, waiter, true, wakes);
    }

    fn dequeue(&mut self) {
        if let (Some(chan), Some(w)) = (self.chan, &self.waiter) {
            if w.maybe_queued() {
                chan.dequeue_locked(&mut chan.lock(), w, true);
            }
        }
    }

    fn complete(&mut self) {
        let w = self.waiter.as_ref().expect("a completed case was queued");
        // An emptied slot means a receiver took the value; a full one means
        // the channel was closed.
        self.result = Some(match w.take() {
            None => Ok(()),
            Some(v) => Err(SendError(v)),
        });
    }
}

/// Waits on several channel operations and runs the one that happens
/// first; see the [module docs](crate::select) for the syntax and the
/// algorithm.
#[macro_export]
macro_rules! select {
    ($($tokens:tt)*) => {
        $crate::__select_parse!(@parse [] [] [] $($tokens)*)
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __select_parse {
    // --- recv(r) -> pat => body
    (@parse [$($c:tt)*] $a:tt $d:tt recv($r:expr) -> $p:pat => $body:block, $($rest:tt)*) => {
        $crate::__select_parse!(@parse [$($c)* (recv __case ($r) ($p) ($body))] $a $d $($rest)*)
    };
    (@parse [$($c:tt)*] $a:tt $d:tt recv($r:expr) -> $p:pat => $body:block $($rest:tt)*) => {
        $crate::__select_parse!(@parse [$($c)* (recv __case ($r) ($p) ($body))] $a $d $($rest)*)
    };
    (@parse [$($c:tt)*] $a:tt $d:tt recv($r:expr) -> $p:pat => $body:expr, $($rest:tt)*) => {
        $crate::__select_parse!(@parse [$($c)* (recv __case ($r) ($p) ($body))] $a $d $($rest)*)
    };
    (@parse [$($c:tt)*] $a:tt $d:tt recv($r:expr) -> $p:pat => $body:expr) => {
        $crate::__select_parse!(@parse [$($c)* (recv __case ($r) ($p) ($body))] $a $d)
    };
    // --- send(s, v) -> pat => body
    (@parse [$($c:tt)*] $a:tt $d:tt send($s:expr, $v:expr) -> $p:pat => $body:block, $($rest:tt)*) => {
        $crate::__select_parse!(@parse [$($c)* (send __case ($s, $v) ($p) ($body))] $a $d $($rest)*)
    };
    (@parse [$($c:tt)*] $a:tt $d:tt send($s:expr, $v:expr) -> $p:pat => $body:block $($rest:tt)*) => {
        $crate::__select_parse!(@parse [$($c)* (send __case ($s, $v) ($p) ($body))] $a $d $($rest)*)
    };
    (@parse [$($c:tt)*] $a:tt $d:tt send($s:expr, $v:expr) -> $p:pat => $body:expr, $($rest:tt)*) => {
        $crate::__select_parse!(@parse [$($c)* (send __case ($s, $v) ($p) ($body))] $a $d $($rest)*)
    };
    (@parse [$($c:tt)*] $a:tt $d:tt send($s:expr, $v:expr) -> $p:pat => $body:expr) => {
        $crate::__select_parse!(@parse [$($c)* (send __case ($s, $v) ($p) ($body))] $a $d)
    };
    // --- after(duration) => body
    (@parse $c:tt [] $d:tt after($t:expr) => $body:block, $($rest:tt)*) => {
        $crate::__select_parse!(@parse $c [($t) ($body)] $d $($rest)*)
    };
    (@parse $c:tt [] $d:tt after($t:expr) => $body:block $($rest:tt)*) => {
        $crate::__select_parse!(@parse $c [($t) ($body)] $d $($rest)*)
    };
    (@parse $c:tt [] $d:tt after($t:expr) => $body:expr, $($rest:tt)*) => {
        $crate::__select_parse!(@parse $c [($t) ($body)] $d $($rest)*)
    };
    (@parse $c:tt [] $d:tt after($t:expr) => $body:expr) => {
        $crate::__select_parse!(@parse $c [($t) ($body)] $d)
    };
    (@parse $c:tt [$($a:tt)+] $d:tt after $($rest:tt)*) => {
        ::std::compile_error!("select! takes at most one `after` case")
    };
    // --- default => body
    (@parse $c:tt $a:tt [] default => $body:block, $($rest:tt)*) => {
        $crate::__select_parse!(@parse $c $a [($body)] $($rest)*)
    };
    (@parse $c:tt $a:tt [] default => $body:block $($rest:tt)*) => {
        $crate::__select_parse!(@parse $c $a [($body)] $($rest)*)
    };
    (@parse $c:tt $a:tt [] default => $body:expr, $($rest:tt)*) => {
        $crate::__select_parse!(@parse $c $a [($body)] $($rest)*)
    };
    (@parse $c:tt $a:tt [] default => $body:expr) => {
        $crate::__select_parse!(@parse $c $a [($body)])
    };
    (@parse $c:tt $a:tt [$($d:tt)+] default $($rest:tt)*) => {
        ::std::compile_error!("select! takes at most one `default` case")
    };
    // --- done: generate
    (@parse [$(($kind:ident $case:ident $args:tt $p:tt $body:tt))*] [$(($t:expr) ($abody:tt))?] [$(($dbody:tt))?]) => {{
        #[allow(unused_mut)]
        let mut __deadline: ::std::option::Option<::std::time::Instant> = ::std::option::Option::None;
        $( __deadline = $crate::time::deadline_after($t); )?
        let __has_default = false $( || { let _ = stringify!($dbody); true } )?;
        $( #[allow(unused_mut)] let mut $case = $crate::__select_parse!(@new $kind $args); )*
        let __outcome = $crate::select::select_core(
            &mut [$( $case.as_case() ),*],
            __deadline,
            __has_default,
        );
        $(
            if $case.fired() {
                let $p = $case.take();
                $body
            } else
        )*
        {
            match __outcome {
                $( $crate::select::Outcome::Timeout => $abody, )?
                $( $crate::select::Outcome::Default => $dbody, )?
                #[allow(unreachable_patterns)]
                _ => ::std::unreachable!("select! ended without a case"),
            }
        }
    }};
    (@new recv ($r:expr)) => { $crate::select::RecvCase::new(&$r) };
    (@new send ($s:expr, $v:expr)) => { $crate::select::SendCase::new(&$s, $v) };
    (@parse $($rest:tt)*) => {
        ::std::compile_error!(concat!("select!: cannot parse `", stringify!($($rest)*), "`; expected recv(r) -> pat => body, send(s, v) -> pat => body, after(d) => body, or default => body"))
    };
}
