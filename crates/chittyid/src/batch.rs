//! ChittyID batches: a Merkle tree over the IDs of one batch, whose root the registrar anchors
//! on-chain (`registry::anchor_id_batch`), and inclusion proofs a third party checks offline.
//!
//! The tree is RFC 6962's (Certificate Transparency): `leaf = SHA-256(0x00 ‖ id)`,
//! `node = SHA-256(0x01 ‖ left ‖ right)`, split at the largest power of two below the size.
//! It is defined for every batch size without duplicating nodes, and the prefixes keep a leaf
//! from passing for a node.

use sha2::{Digest, Sha256};

/// A 32-byte hash.
pub type Hash = [u8; 32];

/// Why a batch or proof was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    /// A batch holds at least one ID.
    #[error("a batch holds at least one ID")]
    Empty,
    /// No ID at that position.
    #[error("index {index} is outside a batch of {size}")]
    IndexOutOfRange {
        /// The index asked for.
        index: usize,
        /// IDs in the batch.
        size: usize,
    },
}

/// The hash of one ID (its canonical string).
pub fn leaf_hash(id: &str) -> Hash {
    Sha256::new()
        .chain_update([0x00])
        .chain_update(id)
        .finalize()
        .into()
}

fn node_hash(left: &Hash, right: &Hash) -> Hash {
    Sha256::new()
        .chain_update([0x01])
        .chain_update(left)
        .chain_update(right)
        .finalize()
        .into()
}

/// The largest power of two strictly below `n` (n ≥ 2).
fn split(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

fn root_of(leaves: &[Hash]) -> Hash {
    match leaves {
        [leaf] => *leaf,
        _ => {
            let k = split(leaves.len());
            node_hash(&root_of(&leaves[..k]), &root_of(&leaves[k..]))
        }
    }
}

/// An inclusion proof: the ID's position, the batch size, and the audit path (leaf level
/// first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InclusionProof {
    /// Position of the ID in the batch.
    pub index: usize,
    /// IDs in the batch.
    pub size: usize,
    /// Sibling hashes from the leaf up.
    pub path: Vec<Hash>,
}

/// A batch's tree.
#[derive(Debug, Clone)]
pub struct BatchTree {
    leaves: Vec<Hash>,
    root: Hash,
}

impl BatchTree {
    /// The tree over `ids`, in batch order.
    pub fn new<S: AsRef<str>>(ids: &[S]) -> Result<Self, BatchError> {
        if ids.is_empty() {
            return Err(BatchError::Empty);
        }
        let leaves: Vec<Hash> = ids.iter().map(|id| leaf_hash(id.as_ref())).collect();
        let root = root_of(&leaves);
        Ok(Self { leaves, root })
    }

    /// The root to anchor.
    pub fn root(&self) -> Hash {
        self.root
    }

    /// IDs in the batch.
    pub fn len(&self) -> usize {
        self.leaves.len()
    }

    /// Always false: a batch is never empty.
    pub fn is_empty(&self) -> bool {
        self.leaves.is_empty()
    }

    /// The inclusion proof of the ID at `index`.
    pub fn proof(&self, index: usize) -> Result<InclusionProof, BatchError> {
        let size = self.leaves.len();
        if index >= size {
            return Err(BatchError::IndexOutOfRange { index, size });
        }
        let mut path = Vec::new();
        let (mut leaves, mut at) = (&self.leaves[..], index);
        // Descend from the root, collecting the sibling subtree at each split; reversed at the
        // end so the path runs leaf first.
        while leaves.len() > 1 {
            let k = split(leaves.len());
            if at < k {
                path.push(root_of(&leaves[k..]));
                leaves = &leaves[..k];
            } else {
                path.push(root_of(&leaves[..k]));
                leaves = &leaves[k..];
                at -= k;
            }
        }
        path.reverse();
        Ok(InclusionProof { index, size, path })
    }
}

impl InclusionProof {
    /// The root this proof gives for `id`, or `None` if the proof's shape is inconsistent.
    pub fn root_for(&self, id: &str) -> Option<Hash> {
        if self.index >= self.size {
            return None;
        }
        // RFC 9162 §2.1.3.2: walk up with the index and last index of the subtree.
        let (mut fn_, mut sn) = (self.index, self.size - 1);
        let mut hash = leaf_hash(id);
        for sibling in &self.path {
            if sn == 0 {
                return None;
            }
            if fn_ & 1 == 1 || fn_ == sn {
                hash = node_hash(sibling, &hash);
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            } else {
                hash = node_hash(&hash, sibling);
            }
            fn_ >>= 1;
            sn >>= 1;
        }
        (sn == 0).then_some(hash)
    }

    /// Whether `id` is in the batch with root `root`.
    pub fn verify(&self, id: &str, root: &Hash) -> bool {
        self.root_for(id).as_ref() == Some(root)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("ID-{i}")).collect()
    }

    #[test]
    fn a_single_id_is_its_own_root() {
        let tree = BatchTree::new(&["01-A-CHI-7K3M9QXP-I-2611-Z-0"]).unwrap();
        assert_eq!(tree.root(), leaf_hash("01-A-CHI-7K3M9QXP-I-2611-Z-0"));
        assert!(tree.proof(0).unwrap().path.is_empty());
    }

    #[test]
    fn the_root_follows_rfc_6962_for_small_trees() {
        let (a, b, c) = (leaf_hash("a"), leaf_hash("b"), leaf_hash("c"));
        assert_eq!(
            BatchTree::new(&["a", "b"]).unwrap().root(),
            node_hash(&a, &b)
        );
        // Three leaves split 2 + 1: no duplicated node.
        assert_eq!(
            BatchTree::new(&["a", "b", "c"]).unwrap().root(),
            node_hash(&node_hash(&a, &b), &c)
        );
    }

    #[test]
    fn every_proof_verifies_and_nothing_else_does() {
        for n in 1..=40 {
            let batch = ids(n);
            let tree = BatchTree::new(&batch).unwrap();
            for (i, id) in batch.iter().enumerate() {
                let proof = tree.proof(i).unwrap();
                assert!(proof.verify(id, &tree.root()), "n={n} i={i}");
                assert!(!proof.verify("01-A-CHI-00000000-I-2611-0-0", &tree.root()));
                if n > 1 {
                    let other = (i + 1) % n;
                    assert!(!proof.verify(&batch[other], &tree.root()), "n={n} i={i}");
                    let mut moved = proof.clone();
                    moved.index = other;
                    assert!(!moved.verify(id, &tree.root()), "index moved, n={n} i={i}");
                    let mut bent = proof.clone();
                    bent.path[0][0] ^= 1;
                    assert!(!bent.verify(id, &tree.root()), "path tampered, n={n} i={i}");
                }
            }
        }
    }

    #[test]
    fn malformed_batches_and_proofs_are_refused() {
        assert_eq!(BatchTree::new::<&str>(&[]).unwrap_err(), BatchError::Empty);
        let tree = BatchTree::new(&ids(5)).unwrap();
        assert_eq!(
            tree.proof(5).unwrap_err(),
            BatchError::IndexOutOfRange { index: 5, size: 5 }
        );
        let mut short = tree.proof(2).unwrap();
        short.path.pop();
        assert_eq!(short.root_for("ID-2"), None);
        let mut long = tree.proof(2).unwrap();
        long.path.push([0; 32]);
        assert_eq!(long.root_for("ID-2"), None);
    }
}
