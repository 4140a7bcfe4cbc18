//! Time for executions: real, or virtual. In virtual time an execution never waits for the wall
//! clock: when it cannot make progress by itself (every branch is in a Wait, a retry backoff or a
//! callback) and no task handler is running, the clock jumps to the next timer. So a one-hour
//! approval timeout takes microseconds in a test, and the history still says one hour.
//!
//! Virtual time is decided per execution future (see [`Clock::drive`]). Actors outside it that
//! complete task tokens after a virtual sleep should run on the same current-thread runtime (so a
//! scheduler pass lets them run before time moves), and hold the clock ([`Clock::hold`]) while
//! they do I/O.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::oneshot;

/// Real or virtual time.
#[derive(Clone, Default)]
pub struct Clock(Option<Arc<VirtualClock>>);

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            None => f.write_str("Clock::Real"),
            Some(v) => write!(f, "Clock::Virtual({})", v.now()),
        }
    }
}

#[derive(Default)]
struct VirtualClock {
    inner: Mutex<Timers>,
    /// Task handlers running (and external holds): time stands still while any is.
    holds: AtomicUsize,
    /// The idle drivers to wake when the last hold is released: each execution drives the
    /// clock, and so may an actor outside them (the lab's demo loop); every one must hear it.
    idle: Mutex<Vec<Waker>>,
}

#[derive(Default)]
struct Timers {
    now: Option<DateTime<Utc>>,
    next_seq: u64,
    pending: BTreeMap<(DateTime<Utc>, u64), oneshot::Sender<()>>,
}

impl VirtualClock {
    fn lock(&self) -> MutexGuard<'_, Timers> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn now(&self) -> DateTime<Utc> {
        self.lock().now.unwrap_or_default()
    }

    /// Fires the earliest timers (all due at the same instant) if nothing holds the clock.
    fn advance(&self) -> bool {
        if self.holds.load(Ordering::SeqCst) > 0 {
            return false;
        }
        let mut timers = self.lock();
        let Some((&(due, _), _)) = timers.pending.first_key_value() else {
            return false;
        };
        if timers.now.is_none_or(|now| due > now) {
            timers.now = Some(due);
        }
        let mut fired = false;
        while let Some(entry) = timers.pending.first_entry() {
            if entry.key().0 != due {
                break;
            }
            // A dropped receiver means the sleep was cancelled; nothing to wake.
            fired |= entry.remove().send(()).is_ok();
        }
        fired || !timers.pending.is_empty()
    }
}

/// A running sleep in virtual time; cancelled (and forgotten by the clock) when dropped.
struct VirtualSleep {
    clock: Arc<VirtualClock>,
    key: (DateTime<Utc>, u64),
    rx: oneshot::Receiver<()>,
}

impl Future for VirtualSleep {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.rx).poll(cx).map(|_| ())
    }
}

impl Drop for VirtualSleep {
    fn drop(&mut self) {
        // A forgotten timer would later pull the clock forward for nothing.
        self.clock.lock().pending.remove(&self.key);
    }
}

/// While held, virtual time does not advance (a task handler or an external actor is working).
pub struct Hold(Option<Arc<VirtualClock>>);

impl Drop for Hold {
    fn drop(&mut self) {
        if let Some(c) = &self.0
            && c.holds.fetch_sub(1, Ordering::SeqCst) == 1
        {
            let wakers = std::mem::take(&mut *c.idle.lock().unwrap_or_else(|p| p.into_inner()));
            for waker in wakers {
                waker.wake();
            }
        }
    }
}

/// Remembers whether a poll woke the execution again.
struct Flag {
    woken: AtomicBool,
    inner: Waker,
}

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::SeqCst);
        self.inner.wake_by_ref();
    }
}

impl Clock {
    /// The wall clock; sleeps really sleep.
    pub fn real() -> Clock {
        Clock(None)
    }

    /// Virtual time starting at `start`.
    pub fn virtual_at(start: DateTime<Utc>) -> Clock {
        let clock = VirtualClock::default();
        clock.lock().now = Some(start);
        Clock(Some(Arc::new(clock)))
    }

    /// Whether this clock is virtual.
    pub fn is_virtual(&self) -> bool {
        self.0.is_some()
    }

    /// The current time.
    pub fn now(&self) -> DateTime<Utc> {
        match &self.0 {
            Some(v) => v.now(),
            None => Utc::now(),
        }
    }

    /// Sleeps for `duration` (virtual or real).
    pub fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        match &self.0 {
            None => Box::pin(tokio::time::sleep(duration)),
            Some(v) => {
                let (tx, rx) = oneshot::channel();
                let key = {
                    let mut timers = v.lock();
                    let due = timers.now.unwrap_or_default()
                        + chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::MAX);
                    timers.next_seq += 1;
                    let key = (due, timers.next_seq);
                    timers.pending.insert(key, tx);
                    key
                };
                Box::pin(VirtualSleep {
                    clock: v.clone(),
                    key,
                    rx,
                })
            }
        }
    }

    /// Keeps virtual time still until the guard drops.
    pub fn hold(&self) -> Hold {
        if let Some(v) = &self.0 {
            v.holds.fetch_add(1, Ordering::SeqCst);
        }
        Hold(self.0.clone())
    }

    /// Runs `fut` (an execution); in virtual time, advances the clock whenever `fut` is idle.
    pub async fn drive<F: Future>(&self, fut: F) -> F::Output {
        let Some(clock) = self.0.clone() else {
            return fut.await;
        };
        let mut fut = pin!(fut);
        // Idle polls in a row: time only moves once the execution stayed idle across a full
        // scheduler pass, so tasks it just woke (an approver receiving a token) get to run and
        // set their own timers first.
        let mut idle = 0u8;
        std::future::poll_fn(move |cx| {
            loop {
                let flag = Arc::new(Flag {
                    woken: AtomicBool::new(false),
                    inner: cx.waker().clone(),
                });
                let waker = Waker::from(flag.clone());
                if let Poll::Ready(out) = fut.as_mut().poll(&mut Context::from_waker(&waker)) {
                    return Poll::Ready(out);
                }
                if flag.woken.load(Ordering::SeqCst) {
                    idle = 0;
                    continue;
                }
                if idle < 2 {
                    idle += 1;
                    cx.waker().wake_by_ref();
                } else if clock.advance() {
                    idle = 0;
                    // Let whoever the timer woke (maybe outside this execution) run first.
                    cx.waker().wake_by_ref();
                } else {
                    let mut idle = clock.idle.lock().unwrap_or_else(|p| p.into_inner());
                    if !idle.iter().any(|w| w.will_wake(cx.waker())) {
                        idle.push(cx.waker().clone());
                    }
                }
                return Poll::Pending;
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-25T21:30:00Z")
            .unwrap()
            .to_utc()
    }

    #[tokio::test]
    async fn every_idle_driver_wakes_when_the_last_hold_is_released() {
        // An execution and the demo's loop drive one clock; both go idle behind a hold.
        let clock = Clock::virtual_at(start());
        let hold = clock.hold();
        let long = tokio::spawn({
            let c = clock.clone();
            async move { c.drive(c.sleep(Duration::from_secs(60))).await }
        });
        let short = tokio::spawn({
            let c = clock.clone();
            async move { c.drive(c.sleep(Duration::from_secs(5))).await }
        });
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        drop(hold);
        tokio::time::timeout(Duration::from_secs(5), async {
            short.await.unwrap();
            long.await.unwrap();
        })
        .await
        .expect("both drivers finish once the hold is gone");
        assert_eq!(clock.now(), start() + chrono::Duration::seconds(60));
    }

    #[tokio::test]
    async fn virtual_sleeps_take_no_wall_time() {
        let clock = Clock::virtual_at(start());
        let wall = std::time::Instant::now();
        clock
            .drive(async {
                clock.sleep(Duration::from_secs(3600)).await;
                clock.sleep(Duration::from_secs(60)).await;
            })
            .await;
        assert_eq!(clock.now(), start() + chrono::Duration::seconds(3660));
        assert!(wall.elapsed() < Duration::from_secs(1));
    }

    #[tokio::test]
    async fn concurrent_sleeps_wake_in_deadline_order() {
        let clock = Clock::virtual_at(start());
        let order = Mutex::new(Vec::new());
        clock
            .drive(async {
                let a = async {
                    clock.sleep(Duration::from_secs(10)).await;
                    order.lock().unwrap().push(("a", clock.now()));
                };
                let b = async {
                    clock.sleep(Duration::from_secs(5)).await;
                    order.lock().unwrap().push(("b", clock.now()));
                    clock.sleep(Duration::from_secs(1)).await;
                    order.lock().unwrap().push(("b2", clock.now()));
                };
                futures::join!(a, b);
            })
            .await;
        let secs: Vec<_> = order
            .into_inner()
            .unwrap()
            .into_iter()
            .map(|(n, t)| (n, (t - start()).num_seconds()))
            .collect();
        assert_eq!(secs, [("b", 5), ("b2", 6), ("a", 10)]);
    }

    #[tokio::test]
    async fn a_hold_keeps_time_still_and_a_cancelled_sleep_is_forgotten() {
        let clock = Clock::virtual_at(start());
        clock
            .drive(async {
                let hold = clock.hold();
                let work = async {
                    tokio::task::yield_now().await;
                    drop(hold);
                    "done"
                };
                tokio::select! {
                    w = work => assert_eq!(w, "done"),
                    _ = clock.sleep(Duration::from_secs(30)) => panic!("time moved while held"),
                }
                clock.sleep(Duration::from_secs(1)).await;
            })
            .await;
        assert_eq!(clock.now(), start() + chrono::Duration::seconds(1));
    }
}
