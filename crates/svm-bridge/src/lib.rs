//! Runs host-compiled Anchor 1.x programs inside the agave runtime (litesvm, program-test,
//! surfpool) as builtin programs, with every syscall routed back into the runtime.
//!
//! # Why this exists
//! Off-chain, Anchor 1.2 sends CPIs, sysvar reads and logs through the **solana-sysvar 3.x**
//! `program_stubs`, while agave 4.2's `processor!` only installs stubs into solana-sysvar 4.x.
//! With the stock path every CPI is a silent `Ok(())` no-op and `Rent::get()` fails. This crate:
//!
//! 1. serializes the instruction's accounts exactly as the SBF loader does
//!    ([`serialize_parameters`]), deserializes them into `AccountInfo`s and calls the program's
//!    entrypoint;
//! 2. writes back lamports, data and owner through [`BorrowedAccount`] setters, so the runtime's
//!    own rules reject writes to read-only or foreign accounts (stock program-test skips them
//!    silently);
//! 3. installs [`SyscallStubs`] into solana-sysvar 3.x: `sol_invoke_signed` runs the CPI through
//!    the runtime (so the bundled SPL Token ELF executes in the real SBF VM), sysvar getters read
//!    the runtime's sysvar cache, and `sol_log` / `sol_log_data` reach the log collector.
//!
//! What it cannot show: compute units of host code, SBF stack/heap limits, and BPF-loader
//! program ownership (see `docs/harness.md`).
//!
//! [`BorrowedAccount`]: solana_program_runtime::__private::TransactionContext
//! [`serialize_parameters`]: solana_program_runtime::serialization::serialize_parameters

use std::{
    cell::{Cell, RefCell},
    collections::HashMap,
    panic::AssertUnwindSafe,
    sync::{Arc, Once},
};

#[doc(hidden)]
pub use anchor_lang::solana_program::{
    account_info::AccountInfo, entrypoint::ProgramResult, pubkey::Pubkey,
};
use anchor_lang::{
    compat::solana_sysvar::program_stubs::{self, SyscallStubs},
    solana_program::{
        entrypoint,
        instruction::{error::UNSUPPORTED_SYSVAR, Instruction},
        program_error::ProgramError,
        rent::Rent as RentV3,
    },
};
use solana_program_runtime::{
    __private::InstructionError, invoke_context::InvokeContext,
    serialization::serialize_parameters, solana_sbpf::vm::ContextObject, stable_log,
};
use solana_svm_timings::ExecuteTimings;

#[doc(hidden)]
pub mod __private {
    pub use solana_program_runtime;
}

pub use solana_program_runtime::invoke_context::BuiltinFunctionRegisterer;

/// A program entrypoint with independent lifetimes, as the bridge calls it.
pub type Entrypoint =
    for<'a, 'b, 'c, 'd> fn(&'a Pubkey, &'b [AccountInfo<'c>], &'d [u8]) -> ProgramResult;

/// Declares a builtin wrapper for an Anchor program's `entry` function.
///
/// ```ignore
/// veil_svm_bridge::native_program!(RegistryProgram, registry::entry);
/// svm.add_builtin(registry::ID, RegistryProgram::registerer());
/// ```
///
/// Anchor 1.x's `entry<'info>` ties the account slice and the account infos to one lifetime;
/// the adapter reborrows the slice at the shorter lifetime, which is sound because the
/// serialized input buffer outlives the call.
#[macro_export]
macro_rules! native_program {
    ($name:ident, $entry:path) => {
        $crate::__private::solana_program_runtime::declare_process_instruction!(
            $name,
            // The runtime requires builtins to consume something; host code is not metered.
            1,
            |invoke_context| {
                fn adapter(
                    program_id: &$crate::Pubkey,
                    accounts: &[$crate::AccountInfo<'_>],
                    data: &[u8],
                ) -> $crate::ProgramResult {
                    // SAFETY: `AccountInfo<'c>` is only invariant because of its `RefCell`s; the
                    // infos point into a buffer that lives for the whole call.
                    let accounts: &[$crate::AccountInfo<'_>] =
                        unsafe { ::core::mem::transmute(accounts) };
                    $entry(program_id, accounts, data)
                }
                $crate::invoke_native(invoke_context, adapter)
            }
        );

        impl $name {
            /// The registerer to hand to `add_builtin`.
            pub fn registerer() -> $crate::BuiltinFunctionRegisterer {
                <$name as $crate::__private::solana_program_runtime::solana_sbpf::program::BuiltinFunctionDefinition<_>>::register
            }
        }
    };
}

thread_local! {
    /// The invoke context of the instruction currently executing on this thread. Set on entry to
    /// every bridged instruction (including nested CPIs, which reuse the same context object).
    static INVOKE_CONTEXT: Cell<usize> = const { Cell::new(0) };
    /// The first runtime error of a failed CPI in the instruction executing on this thread.
    static CPI_FAILURE: RefCell<Option<InstructionError>> = const { RefCell::new(None) };
}

fn set_invoke_context(ctx: &mut InvokeContext) {
    INVOKE_CONTEXT.with(|c| c.set(ctx as *mut InvokeContext as usize));
}

/// The current invoke context. Only callable while a bridged instruction runs on this thread,
/// which is the only time Anchor's host code calls a syscall stub.
fn invoke_context<'a>() -> &'a mut InvokeContext<'static, 'static> {
    let ptr = INVOKE_CONTEXT.with(Cell::get);
    assert!(
        ptr != 0,
        "syscall stub called outside a bridged instruction"
    );
    // SAFETY: the pointer was set from a live `&mut InvokeContext` by `invoke_native`, which is
    // still on this thread's stack; the runtime is single-threaded per transaction.
    unsafe { &mut *(ptr as *mut InvokeContext<'static, 'static>) }
}

static INSTALL: Once = Once::new();

/// Installs the bridge's syscall stubs into solana-sysvar 3.x (idempotent).
pub fn install_syscall_stubs() {
    INSTALL.call_once(|| {
        program_stubs::set_syscall_stubs(Box::new(BridgeStubs));
    });
}

/// Executes one instruction of a host-compiled program against the runtime's accounts.
///
/// Called by the code that [`native_program!`] generates.
pub fn invoke_native(
    ctx: &mut InvokeContext,
    entrypoint: Entrypoint,
) -> Result<(), InstructionError> {
    install_syscall_stubs();
    set_invoke_context(ctx);
    if ctx.get_stack_height() == 1 {
        // A new transaction-level instruction: nothing from an earlier one may leak in.
        CPI_FAILURE.with(|slot| slot.borrow_mut().take());
    }

    let transaction_context = &ctx.transaction_context;
    let instruction_context = transaction_context.get_current_instruction_context()?;
    let direct_pointers = ctx
        .get_feature_set()
        .direct_account_pointers_in_program_input;
    let log_collector = ctx.get_log_collector();

    // Serialize exactly as the SBF loader does (no VM, so no direct mapping).
    let (mut parameter_bytes, _regions, _lengths, _data_offset) =
        serialize_parameters(&instruction_context, false, false, direct_pointers)?;

    // SAFETY: the buffer was produced by `serialize_parameters` in the ABI `deserialize` reads,
    // and it outlives every `AccountInfo` built from it (they are dropped at the end of scope).
    let (program_id, account_infos, input) =
        unsafe { entrypoint::deserialize(parameter_bytes.as_slice_mut().as_mut_ptr()) };
    let program_id = *program_id;

    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
        entrypoint(&program_id, &account_infos, input)
    }));
    // A failed CPI aborts the instruction with the callee's error, as on-chain.
    if let Some(err) = CPI_FAILURE.with(|slot| slot.borrow_mut().take()) {
        return Err(err);
    }
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(program_error)) => {
            return Err(InstructionError::from(u64::from(program_error)));
        }
        Err(_panic) => {
            stable_log::program_log(&log_collector, "host program panicked");
            return Err(InstructionError::ProgramFailedToComplete);
        }
    }

    // Re-fetch: a nested CPI may have re-entered `set_invoke_context` and moved the frame.
    let transaction_context = &ctx.transaction_context;
    let instruction_context = transaction_context.get_current_instruction_context()?;
    let by_key: HashMap<Pubkey, &AccountInfo> =
        account_infos.iter().map(|info| (*info.key, info)).collect();

    for index in 0..instruction_context.get_number_of_instruction_accounts() {
        let mut account = instruction_context.try_borrow_instruction_account(index)?;
        let Some(info) = by_key.get(account.get_key()) else {
            continue;
        };
        // Every change goes through the runtime's setters, which enforce writability, ownership
        // and executability exactly as for an SBF program; unchanged fields are left alone so a
        // read-only account that was merely read is not "touched".
        let lamports = info.lamports();
        if account.get_lamports() != lamports {
            account.set_lamports(lamports)?;
        }
        let data = info
            .try_borrow_data()
            .map_err(|_| InstructionError::AccountBorrowFailed)?;
        if account.get_data() != &data[..] {
            account.set_data_from_slice(&data)?;
        }
        if account.get_owner() != info.owner {
            account.set_owner(info.owner.as_ref())?;
        }
    }
    Ok(())
}

/// Syscall stubs that forward to the runtime for the instruction executing on this thread.
struct BridgeStubs;

impl BridgeStubs {
    fn write_sysvar<T: Clone>(sysvar: Result<Arc<T>, InstructionError>, var_addr: *mut u8) -> u64 {
        match sysvar {
            Ok(value) => {
                // SAFETY: the caller passes a pointer to a `T` of the same crate version; the
                // crates of Clock, EpochSchedule, EpochRewards and LastRestartSlot are single
                // versions in the workspace lock (checked by `scripts/check-layering.sh`).
                unsafe { (var_addr as *mut T).write(T::clone(&value)) };
                entrypoint::SUCCESS
            }
            Err(_) => UNSUPPORTED_SYSVAR,
        }
    }
}

impl SyscallStubs for BridgeStubs {
    fn sol_log(&self, message: &str) {
        stable_log::program_log(&invoke_context().get_log_collector(), message);
    }

    fn sol_log_data(&self, fields: &[&[u8]]) {
        stable_log::program_data(&invoke_context().get_log_collector(), fields);
    }

    fn sol_log_compute_units(&self) {
        let ctx = invoke_context();
        let remaining = ctx.get_remaining();
        stable_log::program_log(
            &ctx.get_log_collector(),
            &format!("Program consumption: {remaining} units remaining"),
        );
    }

    fn sol_remaining_compute_units(&self) -> u64 {
        invoke_context().get_remaining()
    }

    fn sol_invoke_signed(
        &self,
        instruction: &Instruction,
        account_infos: &[AccountInfo],
        signers_seeds: &[&[&[u8]]],
    ) -> ProgramResult {
        invoke_signed(instruction, account_infos, signers_seeds)
    }

    fn sol_get_clock_sysvar(&self, var_addr: *mut u8) -> u64 {
        Self::write_sysvar(
            invoke_context()
                .environment_config
                .sysvar_cache()
                .get_clock(),
            var_addr,
        )
    }

    fn sol_get_epoch_schedule_sysvar(&self, var_addr: *mut u8) -> u64 {
        Self::write_sysvar(
            invoke_context()
                .environment_config
                .sysvar_cache()
                .get_epoch_schedule(),
            var_addr,
        )
    }

    fn sol_get_epoch_rewards_sysvar(&self, var_addr: *mut u8) -> u64 {
        Self::write_sysvar(
            invoke_context()
                .environment_config
                .sysvar_cache()
                .get_epoch_rewards(),
            var_addr,
        )
    }

    fn sol_get_last_restart_slot(&self, var_addr: *mut u8) -> u64 {
        Self::write_sysvar(
            invoke_context()
                .environment_config
                .sysvar_cache()
                .get_last_restart_slot(),
            var_addr,
        )
    }

    fn sol_get_rent_sysvar(&self, var_addr: *mut u8) -> u64 {
        // The runtime holds solana-rent 4 (SIMD-0194: `lamports_per_byte`, threshold 1.0) and the
        // program reads solana-rent 3; the fields map one to one and give the same minimum.
        match invoke_context()
            .environment_config
            .sysvar_cache()
            .get_rent()
        {
            Ok(rent) => {
                #[allow(deprecated)]
                let v3 = RentV3 {
                    lamports_per_byte_year: rent.lamports_per_byte,
                    exemption_threshold: f64::from_le_bytes(rent.exemption_threshold),
                    burn_percent: rent.burn_percent,
                };
                // SAFETY: Anchor passes a pointer to a solana-rent 3 `Rent`.
                unsafe { (var_addr as *mut RentV3).write(v3) };
                entrypoint::SUCCESS
            }
            Err(_) => UNSUPPORTED_SYSVAR,
        }
    }

    fn sol_get_sysvar(
        &self,
        sysvar_id_addr: *const u8,
        var_addr: *mut u8,
        offset: u64,
        length: u64,
    ) -> u64 {
        // SAFETY: the caller passes a pointer to a 32-byte sysvar id.
        let sysvar_id = unsafe { &*(sysvar_id_addr as *const Pubkey) };
        let cache = invoke_context().environment_config.sysvar_cache();
        let Some(buffer) = cache.sysvar_id_to_buffer(sysvar_id) else {
            return UNSUPPORTED_SYSVAR;
        };
        let (Ok(start), Ok(len)) = (usize::try_from(offset), usize::try_from(length)) else {
            return UNSUPPORTED_SYSVAR;
        };
        let Some(slice) = start
            .checked_add(len)
            .and_then(|end| buffer.get(start..end))
        else {
            return UNSUPPORTED_SYSVAR;
        };
        // SAFETY: the caller's buffer holds at least `length` bytes.
        unsafe { std::ptr::copy_nonoverlapping(slice.as_ptr(), var_addr, len) };
        entrypoint::SUCCESS
    }

    fn sol_get_return_data(&self) -> Option<(Pubkey, Vec<u8>)> {
        let (program_id, data) = invoke_context().transaction_context.get_return_data();
        Some((*program_id, data.to_vec()))
    }

    fn sol_set_return_data(&self, data: &[u8]) {
        let ctx = invoke_context();
        let caller = ctx
            .transaction_context
            .get_current_instruction_context()
            .and_then(|ic| ic.get_program_key().copied());
        if let Ok(caller) = caller {
            // The only failure is data above MAX_RETURN_DATA, which Anchor already bounds.
            let _ = ctx
                .transaction_context
                .set_return_data(caller, data.to_vec());
        }
    }

    fn sol_get_stack_height(&self) -> u64 {
        u64::try_from(invoke_context().get_stack_height()).unwrap_or(u64::MAX)
    }
}

/// Runs a CPI from a bridged program through the runtime, the way the SBF loader's
/// `sol_invoke_signed` syscall does: caller changes are synced into the runtime before the
/// callee runs, and the callee's changes are synced back into the caller's `AccountInfo`s.
fn invoke_signed(
    instruction: &Instruction,
    account_infos: &[AccountInfo],
    signers_seeds: &[&[&[u8]]],
) -> ProgramResult {
    let ctx = invoke_context();
    let caller = ctx
        .transaction_context
        .get_current_instruction_context()
        .and_then(|ic| ic.get_program_key().copied())
        .map_err(to_program_error)?;

    let signers = signers_seeds
        .iter()
        .map(|seeds| Pubkey::create_program_address(seeds, &caller))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| ProgramError::InvalidSeeds)?;

    ctx.prepare_next_cpi_instruction(instruction.clone(), &signers)
        .map_err(to_program_error)?;

    // Caller -> runtime: the caller may have changed accounts before the CPI.
    let mut writable = Vec::new();
    {
        let transaction_context = &ctx.transaction_context;
        let caller_ctx = transaction_context
            .get_current_instruction_context()
            .map_err(to_program_error)?;
        let callee_ctx = transaction_context
            .get_next_instruction_context()
            .map_err(to_program_error)?;
        for callee_account in callee_ctx.instruction_accounts() {
            let key = transaction_context
                .get_key_of_account_at_index(callee_account.index_in_transaction)
                .map_err(to_program_error)?;
            let info_index = account_infos
                .iter()
                .position(|info| info.key == key)
                .ok_or(ProgramError::NotEnoughAccountKeys)?;
            let info = &account_infos[info_index];
            let index_in_caller = caller_ctx
                .get_index_of_account_in_instruction(callee_account.index_in_transaction)
                .map_err(to_program_error)?;
            let mut account = caller_ctx
                .try_borrow_instruction_account(index_in_caller)
                .map_err(to_program_error)?;
            if account.get_lamports() != info.lamports() {
                account
                    .set_lamports(info.lamports())
                    .map_err(to_program_error)?;
            }
            let data = info.try_borrow_data()?;
            if account.get_data() != &data[..] {
                account
                    .set_data_from_slice(&data)
                    .map_err(to_program_error)?;
            }
            if account.get_owner() != info.owner {
                account
                    .set_owner(info.owner.as_ref())
                    .map_err(to_program_error)?;
            }
            if callee_account.is_writable() {
                writable.push((callee_account.index_in_transaction, info_index));
            }
        }
    }

    let mut units = 0;
    ctx.process_instruction(&mut units, &mut ExecuteTimings::default())
        .map_err(to_program_error)?;

    // Runtime -> caller: copy the callee's effects into the caller's views.
    let transaction_context = &ctx.transaction_context;
    let caller_ctx = transaction_context
        .get_current_instruction_context()
        .map_err(to_program_error)?;
    for (index_in_transaction, info_index) in writable {
        let index_in_caller = caller_ctx
            .get_index_of_account_in_instruction(index_in_transaction)
            .map_err(to_program_error)?;
        let account = caller_ctx
            .try_borrow_instruction_account(index_in_caller)
            .map_err(to_program_error)?;
        let info = &account_infos[info_index];
        **info.try_borrow_mut_lamports()? = account.get_lamports();
        if info.owner != account.get_owner() {
            info.assign(account.get_owner());
        }
        let new_data = account.get_data();
        if info.data_len() != new_data.len() {
            info.resize(new_data.len())?;
        }
        info.try_borrow_mut_data()?.copy_from_slice(new_data);
    }
    Ok(())
}

/// Records a CPI failure and returns the program-level view of it.
///
/// On-chain, a failed CPI aborts the whole transaction with the callee's error: the caller
/// cannot observe or swallow it. The bridge keeps that rule by remembering the runtime error
/// here; [`invoke_native`] returns it whatever the program does with the `Err` it receives.
fn to_program_error(err: InstructionError) -> ProgramError {
    let program_error =
        ProgramError::try_from(err.clone()).unwrap_or(ProgramError::InvalidArgument);
    CPI_FAILURE.with(|slot| {
        let mut slot = slot.borrow_mut();
        if slot.is_none() {
            *slot = Some(err);
        }
    });
    program_error
}
