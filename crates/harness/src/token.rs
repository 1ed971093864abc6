//! SPL Token helpers: mints, token accounts and balances, through the bundled SPL Token ELF.

use anchor_lang::{
    prelude::Pubkey,
    solana_program::{program_pack::Pack, system_instruction},
};
use anchor_spl::token::spl_token::{
    self, instruction as token_ix, state::Account as TokenAccountState,
};
use solana_keypair::Keypair;
use solana_signer::Signer;

use crate::chain::{TestChain, TxResult};

impl TestChain {
    /// Creates a mint with `decimals`, whose mint authority is `authority`, and that nobody
    /// can freeze.
    pub fn create_mint(&mut self, payer: &Keypair, authority: &Pubkey, decimals: u8) -> Pubkey {
        self.create_mint_with(payer, authority, None, decimals)
    }

    /// Creates a mint with `decimals`, whose mint authority is `authority` and whose freeze
    /// authority is `freeze_authority`.
    pub fn create_mint_with(
        &mut self,
        payer: &Keypair,
        authority: &Pubkey,
        freeze_authority: Option<&Pubkey>,
        decimals: u8,
    ) -> Pubkey {
        let mint = Keypair::new();
        let len = spl_token::state::Mint::LEN;
        let ixs = [
            system_instruction::create_account(
                &payer.pubkey(),
                &mint.pubkey(),
                self.rent_exempt_minimum(len),
                len as u64,
                &spl_token::ID,
            ),
            token_ix::initialize_mint2(
                &spl_token::ID,
                &mint.pubkey(),
                authority,
                freeze_authority,
                decimals,
            )
            .expect("valid initialize_mint2"),
        ];
        self.send(payer, &ixs, &[&mint]).expect("create mint");
        mint.pubkey()
    }

    /// Creates a token account of `mint` owned by `owner`.
    pub fn create_token_account(
        &mut self,
        payer: &Keypair,
        mint: &Pubkey,
        owner: &Pubkey,
    ) -> Pubkey {
        let account = Keypair::new();
        let len = TokenAccountState::LEN;
        let ixs = [
            system_instruction::create_account(
                &payer.pubkey(),
                &account.pubkey(),
                self.rent_exempt_minimum(len),
                len as u64,
                &spl_token::ID,
            ),
            token_ix::initialize_account3(&spl_token::ID, &account.pubkey(), mint, owner)
                .expect("valid initialize_account3"),
        ];
        self.send(payer, &ixs, &[&account])
            .expect("create token account");
        account.pubkey()
    }

    /// Mints `amount` of `mint` into `to`.
    pub fn mint_to(
        &mut self,
        authority: &Keypair,
        mint: &Pubkey,
        to: &Pubkey,
        amount: u64,
    ) -> TxResult {
        let ix = token_ix::mint_to(&spl_token::ID, mint, to, &authority.pubkey(), &[], amount)
            .expect("valid mint_to");
        self.send(authority, &[ix], &[])
    }

    /// Transfers `amount` from `from` (owned by `owner`) to `to`: a plain SPL transfer, which
    /// anyone holding the mint can make into any token account.
    pub fn transfer(
        &mut self,
        owner: &Keypair,
        from: &Pubkey,
        to: &Pubkey,
        amount: u64,
    ) -> TxResult {
        let ix = token_ix::transfer(&spl_token::ID, from, to, &owner.pubkey(), &[], amount)
            .expect("valid transfer");
        self.send(owner, &[ix], &[])
    }

    /// The token balance of `account`.
    ///
    /// # Panics
    /// If `account` is not an initialized SPL token account.
    pub fn token_balance(&self, account: &Pubkey) -> u64 {
        let data = self.account(account).expect("token account exists").data;
        TokenAccountState::unpack(&data)
            .expect("an initialized SPL token account")
            .amount
    }
}
