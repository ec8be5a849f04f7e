//! The lock idiom of the server, named once.
//!
//! A lock is poisoned when a thread panicked while holding it. Every critical section in the server
//! leaves its data whole before anything that can panic (the fold applies an event completely or
//! not at all; the book and the trail commit before they change), so the data behind a poisoned
//! lock is still consistent and the server goes on serving instead of failing every request after
//! one panic. Leptos names the same idiom `or_poisoned`.

use std::sync::{LockResult, PoisonError};

/// Take the guard of a lock even when it is poisoned (see the module docs for why that is sound).
pub trait OrPoisoned<G> {
    /// The guard, poisoned or not.
    fn or_poisoned(self) -> G;
}

impl<G> OrPoisoned<G> for LockResult<G> {
    fn or_poisoned(self) -> G {
        self.unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[test]
    fn a_poisoned_lock_still_gives_its_data() {
        let m = Arc::new(Mutex::new(7));
        let m2 = Arc::clone(&m);
        let _ = std::thread::spawn(move || {
            let _g = m2.lock().or_poisoned();
            panic!("poisons the lock");
        })
        .join();
        assert!(m.is_poisoned());
        assert_eq!(*m.lock().or_poisoned(), 7);
    }
}
