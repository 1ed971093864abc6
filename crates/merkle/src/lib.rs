//! A sparse, append-only Poseidon Merkle tree over BN254, the off-chain mirror of a track.
//!
//! Leaves are filled left to right; every empty subtree hashes to a precomputed zero. Node
//! hashing is `Poseidon(left, right)`, the same as the ownership circuit's, so [`Tree::root`]
//! equals the root a proof is checked against. [`Tree::from_leaves`] builds level by level in
//! parallel: 2^20 leaves take seconds.

use rayon::prelude::*;
use veil_poseidon::{hash2, Fr};

/// Deepest tree supported (the registry's `MAX_TREE_DEPTH`).
pub const MAX_DEPTH: usize = 32;

/// The value of an empty leaf.
pub fn empty_leaf() -> Fr {
    Fr::from(0u64)
}

/// Why a tree operation was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TreeError {
    /// Depth outside `1..=MAX_DEPTH`.
    #[error("tree depth {0} is outside 1..={MAX_DEPTH}")]
    InvalidDepth(usize),
    /// Every leaf position is used.
    #[error("the tree is full ({capacity} leaves)")]
    Full {
        /// Leaves a tree of this depth holds.
        capacity: u64,
    },
    /// No leaf at that index yet.
    #[error("leaf index {index} is not below the leaf count {len}")]
    IndexOutOfRange {
        /// The index asked for.
        index: u64,
        /// Leaves in the tree.
        len: u64,
    },
}

/// An inclusion proof: the sibling at every level, bottom up, and the leaf index whose bits
/// (least significant first) say whether the running node is a right child.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MerkleProof {
    /// Position of the leaf.
    pub index: u64,
    /// Siblings from the leaf level up to just below the root.
    pub siblings: Vec<Fr>,
}

impl MerkleProof {
    /// Path bits, leaf level first: `true` where the running node is the right child.
    pub fn bits(&self) -> Vec<bool> {
        (0..self.siblings.len())
            .map(|level| (self.index >> level) & 1 == 1)
            .collect()
    }

    /// The root this proof yields for `leaf`.
    pub fn compute_root(&self, leaf: &Fr) -> Fr {
        self.siblings
            .iter()
            .zip(self.bits())
            .fold(*leaf, |node, (sibling, is_right)| {
                if is_right {
                    hash2(sibling, &node)
                } else {
                    hash2(&node, sibling)
                }
            })
    }
}

/// The append-only sparse tree.
#[derive(Debug, Clone)]
pub struct Tree {
    depth: usize,
    /// `zeros[l]` is the root of an empty subtree of height `l`.
    zeros: Vec<Fr>,
    /// `levels[l]` holds the non-empty prefix of level `l` (0 = leaves).
    levels: Vec<Vec<Fr>>,
}

impl Tree {
    /// An empty tree of `depth`.
    pub fn new(depth: usize) -> Result<Self, TreeError> {
        if !(1..=MAX_DEPTH).contains(&depth) {
            return Err(TreeError::InvalidDepth(depth));
        }
        let mut zeros = Vec::with_capacity(depth + 1);
        zeros.push(empty_leaf());
        for level in 0..depth {
            let z = zeros[level];
            zeros.push(hash2(&z, &z));
        }
        Ok(Self {
            depth,
            zeros,
            levels: vec![Vec::new(); depth + 1],
        })
    }

    /// A tree of `depth` holding `leaves`, built level by level in parallel.
    pub fn from_leaves(depth: usize, leaves: Vec<Fr>) -> Result<Self, TreeError> {
        let mut tree = Self::new(depth)?;
        if leaves.len() as u64 > tree.capacity() {
            return Err(TreeError::Full {
                capacity: tree.capacity(),
            });
        }
        tree.levels[0] = leaves;
        for level in 0..depth {
            let zero = tree.zeros[level];
            let parents: Vec<Fr> = tree.levels[level]
                .par_chunks(2)
                .map(|pair| hash2(&pair[0], pair.get(1).unwrap_or(&zero)))
                .collect();
            tree.levels[level + 1] = parents;
        }
        Ok(tree)
    }

    /// Tree depth.
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// Leaves a tree of this depth holds.
    pub fn capacity(&self) -> u64 {
        1u64 << self.depth
    }

    /// Leaves inserted so far.
    pub fn len(&self) -> u64 {
        self.levels[0].len() as u64
    }

    /// Whether no leaf has been inserted.
    pub fn is_empty(&self) -> bool {
        self.levels[0].is_empty()
    }

    /// The leaf at `index`.
    pub fn leaf(&self, index: u64) -> Option<&Fr> {
        self.levels[0].get(usize::try_from(index).ok()?)
    }

    /// The current root.
    pub fn root(&self) -> Fr {
        self.levels[self.depth]
            .first()
            .copied()
            .unwrap_or(self.zeros[self.depth])
    }

    /// Appends `leaf`, updating the path to the root; returns its index.
    pub fn insert(&mut self, leaf: Fr) -> Result<u64, TreeError> {
        let index = self.len();
        if index >= self.capacity() {
            return Err(TreeError::Full {
                capacity: self.capacity(),
            });
        }
        self.levels[0].push(leaf);
        self.rehash_path(index as usize);
        Ok(index)
    }

    /// Replaces the leaf at `index` (for example a revoked registration, set to zero).
    pub fn update(&mut self, index: u64, leaf: Fr) -> Result<(), TreeError> {
        let len = self.len();
        let slot = usize::try_from(index)
            .ok()
            .filter(|i| (*i as u64) < len)
            .ok_or(TreeError::IndexOutOfRange { index, len })?;
        self.levels[0][slot] = leaf;
        self.rehash_path(slot);
        Ok(())
    }

    fn rehash_path(&mut self, mut index: usize) {
        for level in 0..self.depth {
            let parent = index / 2;
            let left_index = parent * 2;
            let nodes = &self.levels[level];
            let zero = self.zeros[level];
            let left = nodes.get(left_index).copied().unwrap_or(zero);
            let right = nodes.get(left_index + 1).copied().unwrap_or(zero);
            let hash = hash2(&left, &right);
            let up = &mut self.levels[level + 1];
            if parent < up.len() {
                up[parent] = hash;
            } else {
                up.push(hash);
            }
            index = parent;
        }
    }

    /// The inclusion proof of the leaf at `index`.
    pub fn proof(&self, index: u64) -> Result<MerkleProof, TreeError> {
        let len = self.len();
        if index >= len {
            return Err(TreeError::IndexOutOfRange { index, len });
        }
        let mut position = index as usize;
        let siblings = (0..self.depth)
            .map(|level| {
                let sibling = self.levels[level]
                    .get(position ^ 1)
                    .copied()
                    .unwrap_or(self.zeros[level]);
                position /= 2;
                sibling
            })
            .collect();
        Ok(MerkleProof { index, siblings })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: u64) -> Vec<Fr> {
        (0..n).map(|i| Fr::from(i * 7 + 1)).collect()
    }

    /// The root by the definition: hash every level of the full tree.
    fn naive_root(depth: usize, leaves: &[Fr]) -> Fr {
        let mut level: Vec<Fr> = (0..1usize << depth)
            .map(|i| leaves.get(i).copied().unwrap_or_else(empty_leaf))
            .collect();
        while level.len() > 1 {
            level = level.chunks(2).map(|p| hash2(&p[0], &p[1])).collect();
        }
        level[0]
    }

    #[test]
    fn insert_and_bulk_build_agree_with_the_definition() {
        for n in [0u64, 1, 2, 3, 5, 8, 13, 16] {
            let mut tree = Tree::new(4).unwrap();
            for leaf in leaves(n) {
                tree.insert(leaf).unwrap();
            }
            let expected = naive_root(4, &leaves(n));
            assert_eq!(tree.root(), expected, "{n} leaves by insertion");
            assert_eq!(
                Tree::from_leaves(4, leaves(n)).unwrap().root(),
                expected,
                "{n} leaves in bulk"
            );
        }
    }

    #[test]
    fn every_proof_recomputes_the_root() {
        let tree = Tree::from_leaves(5, leaves(21)).unwrap();
        for index in 0..21 {
            let proof = tree.proof(index).unwrap();
            assert_eq!(proof.siblings.len(), 5);
            assert_eq!(proof.compute_root(tree.leaf(index).unwrap()), tree.root());
            assert_ne!(proof.compute_root(&Fr::from(999u64)), tree.root());
        }
    }

    #[test]
    fn update_changes_the_root_like_a_rebuild() {
        let mut tree = Tree::from_leaves(4, leaves(9)).unwrap();
        tree.update(3, Fr::from(0u64)).unwrap();
        let mut expected = leaves(9);
        expected[3] = Fr::from(0u64);
        assert_eq!(tree.root(), naive_root(4, &expected));
    }

    #[test]
    fn refuses_bad_depth_overflow_and_unknown_index() {
        assert_eq!(Tree::new(0).unwrap_err(), TreeError::InvalidDepth(0));
        assert_eq!(Tree::new(33).unwrap_err(), TreeError::InvalidDepth(33));
        let mut tree = Tree::from_leaves(2, leaves(4)).unwrap();
        assert_eq!(
            tree.insert(Fr::from(1u64)),
            Err(TreeError::Full { capacity: 4 })
        );
        assert_eq!(
            Tree::from_leaves(2, leaves(5)).unwrap_err(),
            TreeError::Full { capacity: 4 }
        );
        assert_eq!(
            tree.proof(4).unwrap_err(),
            TreeError::IndexOutOfRange { index: 4, len: 4 }
        );
        assert_eq!(
            tree.update(9, Fr::from(1u64)).unwrap_err(),
            TreeError::IndexOutOfRange { index: 9, len: 4 }
        );
    }
}
