//! Property tests of reading the store: any bytes for a `meta.json`, any
//! prefix for an id.

use super::meta::parse_meta;
use super::Store;
use crate::testing::{config, json_value};
use proptest::prelude::*;

proptest! {
    #![proptest_config(config())]

    /// The meta loader returns a session or an error for any bytes.
    #[test]
    fn meta_loader_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = parse_meta(&bytes);
    }

    /// Valid metas with arbitrary extra keys and values load, and the extra
    /// keys survive a round trip.
    #[test]
    fn meta_with_unknown_keys_round_trips(extra in prop::collection::btree_map("x_[a-z]{1,6}", json_value(), 0..4)) {
        let mut meta = serde_json::json!({
            "id": "0b5e7a1c-0000-4000-8000-000000000001",
            "task": "t",
            "status": "completed",
            "working_dir": "/w",
            "created_at": "2026-01-01T00:00:00.000000",
            "updated_at": "2026-01-01T00:00:00.000000",
        });
        for (k, v) in &extra {
            meta[k] = v.clone();
        }
        let s = parse_meta(meta.to_string().as_bytes()).unwrap();
        let back = serde_json::to_value(&s).unwrap();
        for (k, v) in &extra {
            prop_assert_eq!(&back[k], v);
        }
    }

    /// The resolver finds exactly the ids a prefix names, and never reaches
    /// outside the store whatever the prefix holds.
    #[test]
    fn resolver_is_exact(
        ids in prop::collection::btree_set("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}", 0..6),
        prefix in prop_oneof!["[0-9a-f]{0,6}", ".{0,12}"],
    ) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        for id in &ids {
            std::fs::create_dir_all(store.session_dir(id)).unwrap();
        }
        let lc = prefix.to_ascii_lowercase();
        let matching: Vec<&String> = ids.iter().filter(|i| i.starts_with(&lc)).collect();
        match store.resolve(&prefix) {
            Ok(id) => {
                prop_assert!(ids.contains(&id));
                prop_assert!(id == lc || matching.len() == 1);
            }
            Err(_) => prop_assert!(
                matching.len() != 1 || prefix.is_empty()
                    || !prefix.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
            ),
        }
    }
}
