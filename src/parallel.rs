//! Work over a list on a few threads, results in the list's order: used to load cluster files,
//! check them, and (in `execute`) to run releases and decryptions several at a time.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// `f` over `items` on up to `workers` threads (taking the next item as each one finishes); the
/// results in item order.
pub fn map<T: Sync, R: Send>(workers: usize, items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::with_capacity(items.len()));
    std::thread::scope(|s| {
        for _ in 0..workers.clamp(1, items.len().max(1)) {
            s.spawn(|| {
                loop {
                    let k = next.fetch_add(1, Ordering::SeqCst);
                    let Some(item) = items.get(k) else { break };
                    let r = f(item);
                    results
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .push((k, r));
                }
            });
        }
    });
    let mut r = results
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    r.sort_by_key(|(k, _)| *k);
    r.into_iter().map(|(_, r)| r).collect()
}
