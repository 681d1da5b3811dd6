//! Rendered run details, kept until their run changes.
//!
//! Building a run's detail replays its whole log and rebuilds its report; reading a run's
//! fingerprint (last event, last update, folded status) is one indexed row. A detail is served
//! from here while its fingerprint is unchanged — whichever process changed the run, since
//! the fingerprint is read from the database on every request.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::body::Bytes;

/// What identifies a version of a run: last event, last update, folded status.
pub(crate) type Fingerprint = (i64, i64, String);

/// A rendered detail and its ETag.
#[derive(Clone)]
pub(crate) struct Rendered {
    pub(crate) body: Bytes,
    pub(crate) etag: String,
}

/// At most this many runs are kept; beyond, the cache starts over (the busy runs come back at
/// once, and a bound keeps the server's memory flat whatever clients ask for).
const CAPACITY: usize = 1024;

#[derive(Default)]
pub(crate) struct DetailCache {
    entries: Mutex<HashMap<String, (Fingerprint, Rendered)>>,
}

impl DetailCache {
    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Fingerprint, Rendered)>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The detail of `run_id` rendered at `fingerprint`, if kept.
    pub(crate) fn get(&self, run_id: &str, fingerprint: &Fingerprint) -> Option<Rendered> {
        self.entries()
            .get(run_id)
            .filter(|(kept, _)| kept == fingerprint)
            .map(|(_, rendered)| rendered.clone())
    }

    /// Keeps the detail of `run_id` rendered at `fingerprint`.
    pub(crate) fn put(&self, run_id: &str, fingerprint: Fingerprint, rendered: Rendered) {
        let mut entries = self.entries();
        if entries.len() >= CAPACITY && !entries.contains_key(run_id) {
            entries.clear();
        }
        entries.insert(run_id.to_owned(), (fingerprint, rendered));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered(text: &'static str) -> Rendered {
        Rendered {
            body: Bytes::from_static(text.as_bytes()),
            etag: format!("\"{text}\""),
        }
    }

    #[test]
    fn a_detail_is_served_only_at_the_fingerprint_it_was_rendered_at() {
        let cache = DetailCache::default();
        let at = |seq: i64| (seq, 100, "running".to_owned());
        assert!(cache.get("r1", &at(3)).is_none());
        cache.put("r1", at(3), rendered("three"));
        assert_eq!(cache.get("r1", &at(3)).unwrap().etag, "\"three\"");
        assert!(cache.get("r1", &at(4)).is_none());
        assert!(cache.get("r1", &(3, 100, "cancelled".to_owned())).is_none());
        cache.put("r1", at(4), rendered("four"));
        assert_eq!(cache.get("r1", &at(4)).unwrap().etag, "\"four\"");
    }

    #[test]
    fn the_cache_stays_bounded() {
        let cache = DetailCache::default();
        for index in 0..=CAPACITY {
            cache.put(&format!("r{index}"), (0, 0, String::new()), rendered("x"));
        }
        assert!(cache.entries().len() <= CAPACITY);
        assert!(
            cache
                .get(&format!("r{CAPACITY}"), &(0, 0, String::new()))
                .is_some()
        );
    }
}
