//! State-machine property test: random `publish_root` sequences (valid and invalid) against a
//! model of the ring. Every accepted publish must match the model; every rejected one must fail
//! with the exact error the model predicts and change nothing.

use proptest::prelude::*;
use registry::{error::RegistryError, state::ROOT_HISTORY_SIZE};
use veil_harness::{assert::assert_registry_error, TestBuilder};

use crate::common::{scalar, TRACK};

const DEPTH: u8 = 8; // 256 leaves, so capacity errors are reachable

#[derive(Debug, Clone)]
enum Op {
    /// Publish a fresh root with the leaf count moved by `delta` (may be negative).
    Publish { delta: i64 },
    /// Re-publish the latest root and leaf count.
    Repeat,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (-3i64..12).prop_map(|delta| Op::Publish { delta }),
        1 => Just(Op::Repeat),
    ]
}

fn cases() -> u32 {
    std::env::var("VEIL_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn publish_root_matches_the_ring_model(ops in prop::collection::vec(op(), 1..160)) {
        let mut t = TestBuilder::new().build();
        t.create_track(TRACK, DEPTH, 0).unwrap();
        let capacity = 1u64 << DEPTH;
        // Model: every accepted (root, leaf_count) in order.
        let mut accepted: Vec<([u8; 32], u64)> = Vec::new();
        let mut next_root = 1u64;

        for op in ops {
            let leaves = accepted.last().map_or(0, |(_, n)| *n);
            let (root, count) = match op {
                Op::Publish { delta } => {
                    next_root += 1;
                    (scalar(next_root), leaves.saturating_add_signed(delta))
                }
                Op::Repeat => match accepted.last() {
                    Some(latest) => *latest,
                    None => continue,
                },
            };
            let expected_error = if count < leaves {
                Some(RegistryError::LeafCountDecreased)
            } else if count > capacity {
                Some(RegistryError::LeafCountExceedsCapacity)
            } else if accepted.last() == Some(&(root, count)) {
                Some(RegistryError::RootAlreadyLatest)
            } else {
                None
            };
            let result = t.publish_root(TRACK, root, count);
            match expected_error {
                Some(error) => assert_registry_error(result, error),
                None => {
                    result.expect("the model accepts this publish");
                    accepted.push((root, count));
                }
            }
        }

        let track = t.track(&TRACK).unwrap();
        prop_assert_eq!(track.root_count, accepted.len() as u64);
        prop_assert_eq!(track.leaf_count, accepted.last().map_or(0, |(_, n)| *n));
        let live = accepted.len().saturating_sub(ROOT_HISTORY_SIZE);
        for (i, (root, count)) in accepted.iter().enumerate() {
            let found = track.find_root(root);
            if i < live {
                prop_assert!(found.is_none(), "root {} should have been evicted", i);
            } else {
                prop_assert_eq!(found.map(|e| e.leaf_count), Some(*count));
            }
        }
    }
}
