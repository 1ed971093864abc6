//! Transactions the stack and its benchmark send to set a chain up: a confirmed send, an SPL
//! mint, and funded associated token accounts.

use anchor_lang::{
    prelude::Pubkey,
    solana_program::{instruction::Instruction, program_pack::Pack, system_instruction},
};
use anchor_spl::{
    associated_token::{
        get_associated_token_address, spl_associated_token_account::instruction as ata_ix,
    },
    token::spl_token::{self, instruction as token_ix},
};
use solana_keypair::Keypair;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_signer::Signer;
use solana_transaction::Transaction;

/// A setup transaction that failed, with the node's answer.
#[derive(Debug, thiserror::Error)]
#[error("{step}: {detail}")]
pub struct SetupError {
    /// What was being done.
    pub step: &'static str,
    /// What the node said.
    pub detail: String,
}

/// Sends `ixs`, paid by `payer` and signed by it and `signers`, and waits for confirmation.
pub async fn send(
    rpc: &RpcClient,
    step: &'static str,
    payer: &Keypair,
    ixs: &[Instruction],
    signers: &[&Keypair],
) -> Result<(), SetupError> {
    let failed = |detail: String| SetupError { step, detail };
    let blockhash = rpc
        .get_latest_blockhash()
        .await
        .map_err(|e| failed(e.to_string()))?;
    let mut all = vec![payer];
    all.extend_from_slice(signers);
    let tx = Transaction::new_signed_with_payer(ixs, Some(&payer.pubkey()), &all, blockhash);
    rpc.send_and_confirm_transaction(&tx)
        .await
        .map(|_| ())
        .map_err(|e| failed(e.to_string()))
}

/// Creates a mint of `decimals` whose mint authority is `issuer` (who pays).
pub async fn create_mint(
    rpc: &RpcClient,
    issuer: &Keypair,
    decimals: u8,
) -> Result<Pubkey, SetupError> {
    let mint = Keypair::new();
    let len = spl_token::state::Mint::LEN;
    let rent = rpc
        .get_minimum_balance_for_rent_exemption(len)
        .await
        .map_err(|e| SetupError {
            step: "rent",
            detail: e.to_string(),
        })?;
    let init = token_ix::initialize_mint2(
        &spl_token::ID,
        &mint.pubkey(),
        &issuer.pubkey(),
        None,
        decimals,
    )
    .map_err(|e| SetupError {
        step: "create mint",
        detail: e.to_string(),
    })?;
    let create = system_instruction::create_account(
        &issuer.pubkey(),
        &mint.pubkey(),
        rent,
        len as u64,
        &spl_token::ID,
    );
    send(rpc, "create mint", issuer, &[create, init], &[&mint]).await?;
    Ok(mint.pubkey())
}

/// Creates `owner`'s associated token account of `mint` (if needed) and mints `amount` into
/// it; `issuer` is the mint authority and pays.
pub async fn fund(
    rpc: &RpcClient,
    issuer: &Keypair,
    mint: &Pubkey,
    owner: &Pubkey,
    amount: u64,
) -> Result<Pubkey, SetupError> {
    let account = get_associated_token_address(owner, mint);
    let mint_to = token_ix::mint_to(
        &spl_token::ID,
        mint,
        &account,
        &issuer.pubkey(),
        &[],
        amount,
    )
    .map_err(|e| SetupError {
        step: "fund tokens",
        detail: e.to_string(),
    })?;
    let ixs = [
        ata_ix::create_associated_token_account_idempotent(
            &issuer.pubkey(),
            owner,
            mint,
            &spl_token::ID,
        ),
        mint_to,
    ];
    send(rpc, "fund tokens", issuer, &ixs, &[]).await?;
    Ok(account)
}
