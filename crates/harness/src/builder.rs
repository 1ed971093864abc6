//! [`TestBuilder`]: a chain with the programs deployed, wallets funded and the registry
//! initialized, plus one method per registry instruction.

use anchor_lang::prelude::Pubkey;
use registry::{
    state::{Config, IdBatch, NullifierRecord, Track},
    VerifyOwnershipArgs,
};
use solana_keypair::Keypair;
use solana_signer::Signer;
use veil_client::{decode, registry as ix};
use veil_svm_bridge::BuiltinFunctionRegisterer;

use crate::{
    chain::{TestChain, TxResult},
    RegistryProgram,
};

/// The freshness window of the fixture's tracks: long enough that no test not about
/// freshness ever meets it.
pub const FRESHNESS_SLOTS: u64 = 1_000_000_000;

/// Lamports each fixture wallet starts with.
pub const WALLET_LAMPORTS: u64 = 100_000_000_000;

/// Builds a [`RegistryFixture`].
pub struct TestBuilder {
    programs: Vec<(Pubkey, BuiltinFunctionRegisterer)>,
    initialize_registry: bool,
}

impl Default for TestBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl TestBuilder {
    /// The registry deployed and initialized.
    pub fn new() -> Self {
        Self {
            programs: vec![(ix::PROGRAM_ID, RegistryProgram::registerer())],
            initialize_registry: true,
        }
    }

    /// Deploys another host-compiled program.
    pub fn program(mut self, id: Pubkey, registerer: BuiltinFunctionRegisterer) -> Self {
        self.programs.push((id, registerer));
        self
    }

    /// Leaves the registry deployed but uninitialized.
    pub fn uninitialized(mut self) -> Self {
        self.initialize_registry = false;
        self
    }

    /// Creates the chain, funds the actors and, unless told otherwise, initializes the registry.
    pub fn build(self) -> RegistryFixture {
        let mut chain = TestChain::new(&self.programs);
        let admin = chain.funded_keypair(WALLET_LAMPORTS);
        let registrar = chain.funded_keypair(WALLET_LAMPORTS);
        let treasury = chain.funded_keypair(WALLET_LAMPORTS);
        let mut fixture = RegistryFixture {
            chain,
            admin,
            registrar,
            treasury,
        };
        if self.initialize_registry {
            fixture
                .initialize(&fixture.admin.insecure_clone())
                .expect("registry initializes");
        }
        fixture
    }
}

/// A chain with the registry and its three actors.
pub struct RegistryFixture {
    /// The chain.
    pub chain: TestChain,
    /// The admin (upgrade authority in a real deployment).
    pub admin: Keypair,
    /// The registrar (the relayer's key).
    pub registrar: Keypair,
    /// The treasury.
    pub treasury: Keypair,
}

impl RegistryFixture {
    /// A new funded wallet.
    pub fn wallet(&mut self) -> Keypair {
        self.chain.funded_keypair(WALLET_LAMPORTS)
    }

    /// `initialize`, signed by `admin`, naming the fixture's registrar and treasury.
    pub fn initialize(&mut self, admin: &Keypair) -> TxResult {
        let ix = ix::initialize(
            &admin.pubkey(),
            &self.registrar.pubkey(),
            &self.treasury.pubkey(),
            None,
        );
        self.chain.send(admin, &[ix], &[])
    }

    /// `create_track`, signed by `admin`.
    pub fn create_track_as(
        &mut self,
        admin: &Keypair,
        track_id: [u8; 32],
        depth: u8,
        epoch_seconds: u64,
    ) -> TxResult {
        self.create_track_with(admin, track_id, depth, epoch_seconds, FRESHNESS_SLOTS)
    }

    /// `create_track` with an explicit freshness window, signed by `admin`.
    pub fn create_track_with(
        &mut self,
        admin: &Keypair,
        track_id: [u8; 32],
        depth: u8,
        epoch_seconds: u64,
        freshness_slots: u64,
    ) -> TxResult {
        let ix = ix::create_track(
            &admin.pubkey(),
            track_id,
            depth,
            epoch_seconds,
            freshness_slots,
        );
        self.chain.send(admin, &[ix], &[])
    }

    /// `create_track`, signed by the fixture's admin.
    pub fn create_track(&mut self, track_id: [u8; 32], depth: u8, epoch_seconds: u64) -> TxResult {
        let admin = self.admin.insecure_clone();
        self.create_track_as(&admin, track_id, depth, epoch_seconds)
    }

    /// `publish_root`, signed by `registrar`.
    pub fn publish_root_as(
        &mut self,
        registrar: &Keypair,
        track_id: [u8; 32],
        root: [u8; 32],
        leaf_count: u64,
    ) -> TxResult {
        let slot = self.chain.slot();
        self.publish_root_at(registrar, track_id, root, leaf_count, slot)
    }

    /// `publish_root` of a snapshot read at `snapshot_slot`, signed by `registrar`.
    pub fn publish_root_at(
        &mut self,
        registrar: &Keypair,
        track_id: [u8; 32],
        root: [u8; 32],
        leaf_count: u64,
        snapshot_slot: u64,
    ) -> TxResult {
        let ix = ix::publish_root(
            &registrar.pubkey(),
            track_id,
            root,
            leaf_count,
            snapshot_slot,
        );
        self.chain.send(registrar, &[ix], &[])
    }

    /// `publish_root`, signed by the fixture's registrar.
    pub fn publish_root(
        &mut self,
        track_id: [u8; 32],
        root: [u8; 32],
        leaf_count: u64,
    ) -> TxResult {
        let registrar = self.registrar.insecure_clone();
        self.publish_root_as(&registrar, track_id, root, leaf_count)
    }

    /// `anchor_id_batch`, signed by `registrar`.
    pub fn anchor_id_batch_as(
        &mut self,
        registrar: &Keypair,
        namespace: [u8; 4],
        batch_root: [u8; 32],
        first_seq: u64,
        count: u32,
    ) -> TxResult {
        let ix = ix::anchor_id_batch(&registrar.pubkey(), namespace, batch_root, first_seq, count);
        self.chain.send(registrar, &[ix], &[])
    }

    /// `verify_ownership`, paid and signed by `payer`.
    pub fn verify_ownership_as(&mut self, payer: &Keypair, args: VerifyOwnershipArgs) -> TxResult {
        let ix = ix::verify_ownership(&payer.pubkey(), args);
        self.chain.send(payer, &[ix], &[])
    }

    /// The nullifier record of `nullifier` on `track_id`, if it was spent.
    pub fn nullifier(&self, track_id: &[u8; 32], nullifier: &[u8; 32]) -> Option<NullifierRecord> {
        self.chain
            .anchor_account(&ix::nullifier_pda(track_id, nullifier).0)
            .map(|r| r.expect("nullifier record decodes"))
    }

    /// `pause`, signed by `admin`.
    pub fn pause_as(&mut self, admin: &Keypair) -> TxResult {
        self.chain.send(admin, &[ix::pause(&admin.pubkey())], &[])
    }

    /// `unpause`, signed by `admin`.
    pub fn unpause_as(&mut self, admin: &Keypair) -> TxResult {
        self.chain.send(admin, &[ix::unpause(&admin.pubkey())], &[])
    }

    /// Pauses with the fixture's admin.
    pub fn pause(&mut self) -> TxResult {
        let admin = self.admin.insecure_clone();
        self.pause_as(&admin)
    }

    /// The decoded config.
    pub fn config(&self) -> Config {
        self.chain
            .anchor_account(&ix::config_pda().0)
            .expect("config exists")
            .expect("config decodes")
    }

    /// The decoded track, if it exists.
    pub fn track(&self, track_id: &[u8; 32]) -> Option<Track> {
        self.chain
            .account(&ix::track_pda(track_id).0)
            .map(|a| decode::track(&a.data).expect("track decodes"))
    }

    /// The decoded batch record, if it exists.
    pub fn id_batch(&self, namespace: &[u8; 4], first_seq: u64) -> Option<IdBatch> {
        self.chain
            .anchor_account(&ix::id_batch_pda(namespace, first_seq).0)
            .map(|r| r.expect("id batch decodes"))
    }
}
