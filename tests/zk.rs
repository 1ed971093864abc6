//! A ZK fixture: a depth-20 track with registered members, its root published, and a prover
//! with the development keys (the same keys whose verifying key the program compiles in).

use std::sync::OnceLock;

use registry::{state::ROOT_HISTORY_SIZE, VerifyOwnershipArgs};
use veil_circuits::{identity, keys, OwnershipWitness, Prover, DEFAULT_DEPTH};
use veil_client::registry::verify_ownership_args;
use veil_harness::{builder::FRESHNESS_SLOTS, RegistryFixture, TestBuilder};
use veil_merkle::Tree;
use veil_poseidon::{from_be_bytes, to_be_bytes, Fr};

/// The prover for the committed development keys, built once per test binary.
pub fn prover() -> &'static Prover {
    static PROVER: OnceLock<Prover> = OnceLock::new();
    PROVER.get_or_init(|| {
        let pk = keys::generate(DEFAULT_DEPTH, keys::DEV_SEED).expect("dev keys");
        Prover::new(pk, DEFAULT_DEPTH).expect("prover")
    })
}

/// A registered member: the secret from a wallet signature, and its token.
pub struct Member {
    /// Identity secret.
    pub secret: Fr,
    /// Token id.
    pub token_id: Fr,
}

/// A chain with one ZK track.
pub struct ZkTrack {
    /// The chain and registry actors.
    pub t: RegistryFixture,
    /// The track id (hashed from a mint into the field).
    pub track_id: [u8; 32],
    /// The off-chain tree mirroring the track.
    pub tree: Tree,
    /// Members, by leaf index.
    pub members: Vec<Member>,
}

impl ZkTrack {
    /// A track with `members` members, `epoch_seconds` nullifier rule, and its root published.
    pub fn new(members: u64, epoch_seconds: u64) -> Self {
        Self::with_track_id(
            TestBuilder::new().build(),
            veil_zk::track_id_for(&[0x5a; 32]),
            members,
            epoch_seconds,
        )
    }

    /// Same, on an existing chain and a chosen track id.
    pub fn with_track_id(
        t: RegistryFixture,
        track_id: [u8; 32],
        members: u64,
        epoch_seconds: u64,
    ) -> Self {
        Self::with_freshness(t, track_id, members, epoch_seconds, FRESHNESS_SLOTS)
    }

    /// Same, with roots usable for proofs `freshness_slots` after their snapshot.
    pub fn with_freshness(
        mut t: RegistryFixture,
        track_id: [u8; 32],
        members: u64,
        epoch_seconds: u64,
        freshness_slots: u64,
    ) -> Self {
        let admin = t.admin.insecure_clone();
        t.create_track_with(
            &admin,
            track_id,
            DEFAULT_DEPTH as u8,
            epoch_seconds,
            freshness_slots,
        )
        .expect("create track");
        let track = from_be_bytes(&track_id).expect("canonical track id");
        let members: Vec<Member> = (0..members)
            .map(|i| Member {
                secret: identity::secret_from_signature(&[i as u8 + 1; 64]),
                token_id: Fr::from(10_000 + i),
            })
            .collect();
        let leaves = members
            .iter()
            .map(|m| identity::leaf(&identity::commitment(&m.secret), &m.token_id, &track))
            .collect();
        let tree = Tree::from_leaves(DEFAULT_DEPTH, leaves).expect("tree");
        let mut zk = Self {
            t,
            track_id,
            tree,
            members,
        };
        zk.publish();
        zk
    }

    /// Publishes the tree's current root.
    pub fn publish(&mut self) {
        let root = to_be_bytes(&self.tree.root());
        let leaves = self.tree.len();
        self.t
            .publish_root(self.track_id, root, leaves)
            .expect("publish root");
    }

    /// Publishes `ROOT_HISTORY_SIZE` unrelated roots, evicting every earlier one.
    pub fn rotate_ring(&mut self) {
        let leaves = self.tree.len();
        for i in 0..ROOT_HISTORY_SIZE as u64 {
            let root = to_be_bytes(&Fr::from(0xdead_0000 + i));
            self.t
                .publish_root(self.track_id, root, leaves)
                .expect("publish filler root");
        }
    }

    /// The witness of member `index` for `scope` and `signal_hash`.
    pub fn witness(&self, index: u64, scope: [u8; 32], signal_hash: [u8; 32]) -> OwnershipWitness {
        let member = &self.members[index as usize];
        OwnershipWitness::from_bytes(
            member.secret,
            member.token_id,
            &self.track_id,
            &scope,
            &signal_hash,
            self.tree.proof(index).expect("member path"),
        )
        .expect("canonical inputs")
    }

    /// A proof by member `index`, as `verify_ownership` arguments.
    pub fn prove(&self, index: u64, scope: [u8; 32], signal_hash: [u8; 32]) -> VerifyOwnershipArgs {
        let (proof, inputs) = prover()
            .prove(&self.witness(index, scope, signal_hash))
            .expect("prove");
        verify_ownership_args(&proof, &inputs)
    }
}
