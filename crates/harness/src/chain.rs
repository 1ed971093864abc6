//! [`TestChain`]: sends real signed transactions to litesvm and reports what happened.

use anchor_lang::{prelude::Pubkey, solana_program::instruction::Instruction, AccountDeserialize};
use litesvm::LiteSVM;
use solana_account::Account;
use solana_keypair::Keypair;
use solana_message::Message;
use solana_signer::Signer;
use solana_transaction::Transaction;
use solana_transaction_error::TransactionError;
use veil_client::decode::{self, DecodeError, RegistryEvent};
use veil_svm_bridge::BuiltinFunctionRegisterer;

/// The upgradeable BPF loader (loader v3).
pub const LOADER_V3: Pubkey = anchor_lang::solana_program::bpf_loader_upgradeable::ID;

/// One instruction executed by CPI, resolved to its program and data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvokedInstruction {
    /// The invoked program.
    pub program_id: Pubkey,
    /// Account keys, in the order the instruction listed them.
    pub accounts: Vec<Pubkey>,
    /// Instruction data.
    pub data: Vec<u8>,
    /// 1 for top-level instructions, 2 for their CPIs, and so on.
    pub stack_height: u8,
}

/// A transaction that landed.
#[derive(Debug, Clone)]
pub struct Executed {
    /// First signature.
    pub signature: String,
    /// Runtime log lines.
    pub logs: Vec<String>,
    /// For each top-level instruction, the CPIs it made, in order.
    pub inner: Vec<Vec<InvokedInstruction>>,
}

impl Executed {
    /// Every registry event emitted by this transaction, in emission order, decoded from the
    /// `emit_cpi!` inner instructions (never from logs).
    pub fn registry_events(&self) -> Result<Vec<RegistryEvent>, DecodeError> {
        self.event_cpi_payloads(&veil_client::registry::PROGRAM_ID)
            .map(RegistryEvent::decode_event_cpi)
            .collect()
    }

    /// Data of the self-CPIs `program_id` made (the carriers of `emit_cpi!` events).
    pub fn event_cpi_payloads<'a>(
        &'a self,
        program_id: &'a Pubkey,
    ) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.inner
            .iter()
            .flatten()
            .filter(move |ix| &ix.program_id == program_id)
            .map(|ix| ix.data.as_slice())
    }
}

/// A transaction the runtime rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failed {
    /// The runtime's error.
    pub error: TransactionError,
    /// Runtime log lines up to the failure.
    pub logs: Vec<String>,
}

/// What sending a transaction produced.
pub type TxResult = Result<Executed, Failed>;

/// A litesvm chain with the bridge's programs registered.
pub struct TestChain {
    svm: LiteSVM,
}

impl TestChain {
    /// A chain with the default builtins, sysvars, SPL programs and the given native programs.
    pub fn new(programs: &[(Pubkey, BuiltinFunctionRegisterer)]) -> Self {
        let mut svm = LiteSVM::new();
        for (id, registerer) in programs {
            svm.add_builtin(*id, *registerer);
        }
        Self { svm }
    }

    /// A chain whose one program `program_id` is deployed as under the upgradeable loader:
    /// its program account is owned by `BPFLoaderUpgradeab1e…` and names a ProgramData account
    /// that records `upgrade_authority` (`None`: made immutable).
    ///
    /// There is no SBF build here, so no ELF can sit in the ProgramData account. The runtime
    /// dispatches an instruction of a loader-owned program to its owner's builtin entry, so
    /// the host-compiled program is registered *as the upgradeable loader's entry* on this
    /// chain: the accounts, owners and data the program reads are those of a real upgradeable
    /// deployment, and the loader "executes" exactly this one program. Nothing else on such a
    /// chain may use the upgradeable loader (litesvm's bundled SPL programs use loader v2).
    pub fn upgradeable(
        program_id: Pubkey,
        registerer: BuiltinFunctionRegisterer,
        upgrade_authority: Option<Pubkey>,
    ) -> Self {
        let mut svm = LiteSVM::new();
        svm.add_builtin(LOADER_V3, registerer);
        let programdata = Self::program_data_address(&program_id);
        // UpgradeableLoaderState in its bincode layout: a u32 tag (2 = Program, 3 =
        // ProgramData), then the fields.
        let mut program_state = 2u32.to_le_bytes().to_vec();
        program_state.extend_from_slice(programdata.as_ref());
        let mut programdata_state = 3u32.to_le_bytes().to_vec();
        programdata_state.extend_from_slice(&0u64.to_le_bytes());
        match upgrade_authority {
            Some(authority) => {
                programdata_state.push(1);
                programdata_state.extend_from_slice(authority.as_ref());
            }
            None => programdata_state.extend_from_slice(&[0; 33]),
        }
        // The program account first: while its ProgramData does not exist yet, litesvm caches
        // it as a closed program instead of trying to load an ELF.
        let account = |data: Vec<u8>, executable: bool| Account {
            lamports: svm.minimum_balance_for_rent_exemption(data.len()),
            data,
            owner: LOADER_V3,
            executable,
            rent_epoch: 0,
        };
        let program = account(program_state, true);
        let programdata_account = account(programdata_state, false);
        svm.set_account(program_id, program)
            .expect("program account");
        svm.set_account(programdata, programdata_account)
            .expect("programdata account");
        Self { svm }
    }

    /// The ProgramData address of an upgradeable `program_id`.
    pub fn program_data_address(program_id: &Pubkey) -> Pubkey {
        Pubkey::find_program_address(&[program_id.as_ref()], &LOADER_V3).0
    }

    /// [`TestChain::upgradeable`] with `authority` funded, plus a funded stranger (the would-be
    /// attacker); the chain, the stranger and the ProgramData address.
    pub fn upgradeable_with_stranger(
        program_id: Pubkey,
        registerer: BuiltinFunctionRegisterer,
        authority: &Keypair,
    ) -> (Self, Keypair, Pubkey) {
        let mut chain = Self::upgradeable(program_id, registerer, Some(authority.pubkey()));
        chain
            .svm
            .airdrop(&authority.pubkey(), 10_000_000_000)
            .expect("airdrop to the upgrade authority");
        let stranger = chain.funded_keypair(10_000_000_000);
        (chain, stranger, Self::program_data_address(&program_id))
    }

    /// The underlying runtime, for what this wrapper does not cover.
    pub fn svm(&mut self) -> &mut LiteSVM {
        &mut self.svm
    }

    /// A new keypair holding `lamports`.
    pub fn funded_keypair(&mut self, lamports: u64) -> Keypair {
        let keypair = Keypair::new();
        self.svm
            .airdrop(&keypair.pubkey(), lamports)
            .expect("airdrop to a fresh keypair");
        keypair
    }

    /// Signs `instructions` with `payer` and `signers` under a fresh blockhash and executes them
    /// as one transaction.
    ///
    /// # Panics
    /// If an instruction requires a signer that is not given: that is a bug in the test, not an
    /// outcome of the program.
    pub fn send(
        &mut self,
        payer: &Keypair,
        instructions: &[Instruction],
        signers: &[&Keypair],
    ) -> TxResult {
        // A new blockhash per transaction: identical instructions sent twice are two transactions.
        self.svm.expire_blockhash();
        let mut all: Vec<&Keypair> = vec![payer];
        for signer in signers {
            if !all.iter().any(|k| k.pubkey() == signer.pubkey()) {
                all.push(signer);
            }
        }
        let message = Message::new(instructions, Some(&payer.pubkey()));
        let mut tx = Transaction::new_unsigned(message);
        tx.try_sign(&all, self.svm.latest_blockhash())
            .expect("every required signer must be passed to send()");
        let keys = tx.message.account_keys.clone();
        match self.svm.send_transaction(tx) {
            Ok(meta) => Ok(Executed {
                signature: meta.signature.to_string(),
                logs: meta.logs,
                inner: meta
                    .inner_instructions
                    .iter()
                    .map(|list| {
                        list.iter()
                            .map(|inner| InvokedInstruction {
                                program_id: keys[usize::from(inner.instruction.program_id_index)],
                                accounts: inner
                                    .instruction
                                    .accounts
                                    .iter()
                                    .map(|i| keys[usize::from(*i)])
                                    .collect(),
                                data: inner.instruction.data.clone(),
                                stack_height: inner.stack_height,
                            })
                            .collect()
                    })
                    .collect(),
            }),
            Err(failed) => Err(Failed {
                error: failed.err,
                logs: failed.meta.logs,
            }),
        }
    }

    /// The raw account at `address`.
    pub fn account(&self, address: &Pubkey) -> Option<Account> {
        self.svm.get_account(address)
    }

    /// The lamports of `address` (0 if it does not exist).
    pub fn lamports(&self, address: &Pubkey) -> u64 {
        self.account(address).map_or(0, |a| a.lamports)
    }

    /// The Borsh account of type `T` at `address`, if it exists and decodes.
    pub fn anchor_account<T: AccountDeserialize>(
        &self,
        address: &Pubkey,
    ) -> Option<Result<T, DecodeError>> {
        self.account(address).map(|a| decode::account(&a.data))
    }

    /// Minimum lamports for rent exemption of `len` bytes, per the runtime's Rent sysvar.
    pub fn rent_exempt_minimum(&self, len: usize) -> u64 {
        self.svm.minimum_balance_for_rent_exemption(len)
    }

    /// Current slot.
    pub fn slot(&self) -> u64 {
        self.clock().slot
    }

    /// The Clock sysvar.
    pub fn clock(&self) -> anchor_lang::prelude::Clock {
        self.svm.get_sysvar()
    }

    /// Moves the clock to `slot` (forward only).
    pub fn warp_to_slot(&mut self, slot: u64) {
        self.svm.warp_to_slot(slot);
    }

    /// Sets the clock's unix timestamp.
    pub fn set_unix_timestamp(&mut self, unix_timestamp: i64) {
        let mut clock = self.clock();
        clock.unix_timestamp = unix_timestamp;
        self.svm.set_sysvar(&clock);
    }
}
