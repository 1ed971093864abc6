//! Property test: random instruction sequences over random parties, modes, bonds, outcomes,
//! clock jumps and outsiders' transfers into the vault never create or destroy tokens, never
//! pay a non-party, and never leave tokens stuck.
//!
//! After every step: the mint's supply equals the tokens held by every account and vault;
//! a stranger's balance changes only by what it sent into the vault, unless it became the
//! counterparty of an open challenge; the treasury never loses; an open vault holds exactly
//! `deposited − paid_out` plus what outsiders sent in; a closed vault means everything
//! deposited went out.
//!
//! Then the parties stop acting: only a stranger cranks `expire` and `settle` while time
//! passes. Every run must end with the vault closed and every token accounted for: no status
//! that holds tokens may need the other party's cooperation to be left.
//! Cases: `VEIL_PROPTEST_CASES` (default 1,000) and `VEIL_PROPTEST_SEED` (default fixed, so CI
//! is reproducible); raise the first and vary the second for a soak.

use std::cell::RefCell;

use anchor_lang::{prelude::Pubkey, solana_program::program_pack::Pack};
use anchor_spl::token::spl_token::state::Mint;
use challenge::state::{Mode, Outcome, Party, Status};
use proptest::{
    prelude::*,
    test_runner::{Config, RngAlgorithm, TestRng, TestRunner},
};
use veil_client::challenge as cix;
use veil_harness::{challenge::STARTING_TOKENS, ChallengeFixture, Keypair, Signer};

#[derive(Debug, Clone, Copy)]
enum Who {
    Creator,
    Counterparty,
    Arbiter,
    Gatekeeper,
    Stranger,
}

#[derive(Debug, Clone)]
enum Action {
    Accept(Who),
    Attest(Party, bool, Who),
    Deposit(Party),
    DepositBy(Who),
    Lock(Who),
    Confirm(Who, Outcome),
    Resolve(Who, Outcome),
    Settle,
    Expire,
    Cancel(Who),
    Advance(i64),
    /// The stranger transfers tokens straight into the vault (griefing the escrow).
    Gift(u64),
}

fn who() -> impl Strategy<Value = Who> {
    prop_oneof![
        4 => Just(Who::Creator),
        4 => Just(Who::Counterparty),
        1 => Just(Who::Arbiter),
        1 => Just(Who::Gatekeeper),
        1 => Just(Who::Stranger),
    ]
}

fn party() -> impl Strategy<Value = Party> {
    prop_oneof![Just(Party::Creator), Just(Party::Counterparty)]
}

fn outcome() -> impl Strategy<Value = Outcome> {
    prop_oneof![
        Just(Outcome::CreatorWins),
        Just(Outcome::CounterpartyWins),
        Just(Outcome::Draw),
        Just(Outcome::NoContest),
    ]
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        3 => who().prop_map(Action::Accept),
        3 => (party(), prop::bool::weighted(0.9), prop_oneof![9 => Just(Who::Gatekeeper), 1 => who()])
            .prop_map(|(p, ok, w)| Action::Attest(p, ok, w)),
        4 => party().prop_map(Action::Deposit),
        1 => who().prop_map(Action::DepositBy),
        3 => who().prop_map(Action::Lock),
        4 => (who(), outcome()).prop_map(|(w, o)| Action::Confirm(w, o)),
        2 => (prop_oneof![4 => Just(Who::Arbiter), 1 => who()], outcome())
            .prop_map(|(w, o)| Action::Resolve(w, o)),
        2 => Just(Action::Settle),
        2 => Just(Action::Expire),
        1 => who().prop_map(Action::Cancel),
        2 => prop_oneof![Just(600i64), Just(4_000), Just(100_000), Just(40 * 86_400)]
            .prop_map(Action::Advance),
        1 => prop_oneof![Just(1u64), Just(1_000_000)].prop_map(Action::Gift),
    ]
}

fn mode() -> impl Strategy<Value = Mode> {
    prop_oneof![
        1 => Just(Mode::Solo),
        1 => Just(Mode::Gatekeeper),
        4 => Just(Mode::Fire),
        3 => Just(Mode::Enforced),
    ]
}

struct World {
    f: ChallengeFixture,
    stranger: Keypair,
    stranger_tokens: Pubkey,
    vaults: Vec<Pubkey>,
    /// What the stranger sent into the current challenge's vault.
    gifted: u64,
}

impl World {
    fn new() -> Self {
        let mut f = ChallengeFixture::new();
        let stranger = f.t.wallet();
        let mint = f.mint;
        let authority = f.mint_authority.insecure_clone();
        let stranger_tokens =
            f.t.chain
                .create_token_account(&stranger, &mint, &stranger.pubkey());
        f.t.chain
            .mint_to(&authority, &mint, &stranger_tokens, STARTING_TOKENS)
            .expect("mint_to");
        Self {
            f,
            stranger,
            stranger_tokens,
            vaults: Vec::new(),
            gifted: 0,
        }
    }

    fn key(&self, who: Who) -> Keypair {
        match who {
            Who::Creator => self.f.creator.insecure_clone(),
            Who::Counterparty => self.f.counterparty.insecure_clone(),
            Who::Arbiter => self.f.arbiter.insecure_clone(),
            Who::Gatekeeper => self.f.gatekeeper.insecure_clone(),
            Who::Stranger => self.stranger.insecure_clone(),
        }
    }

    fn supply(&self) -> u64 {
        let data = self.f.t.chain.account(&self.f.mint).expect("mint").data;
        Mint::unpack(&data).expect("mint decodes").supply
    }

    fn held(&self) -> u64 {
        let chain = &self.f.t.chain;
        let accounts = [
            self.f.creator_tokens,
            self.f.counterparty_tokens,
            self.f.treasury_tokens,
            self.stranger_tokens,
        ];
        let open_vaults = self
            .vaults
            .iter()
            .filter(|v| chain.account(v).is_some_and(|a| !a.data.is_empty()));
        accounts
            .iter()
            .chain(open_vaults)
            .map(|a| chain.token_balance(a))
            .sum()
    }

    fn step(&mut self, c: &Pubkey, action: &Action) {
        // Each step may legitimately fail; the properties must hold either way.
        let _ = match action {
            Action::Accept(w) => {
                let k = self.key(*w);
                self.f.accept(c, &k)
            }
            Action::Attest(p, ok, w) => {
                let k = self.key(*w);
                self.f.attest_as(&k, c, *p, *ok)
            }
            Action::Deposit(p) => self.f.deposit(c, *p),
            Action::DepositBy(w) => {
                let k = self.key(*w);
                let from = match w {
                    Who::Counterparty => self.f.counterparty_tokens,
                    Who::Stranger => self.stranger_tokens,
                    _ => self.f.creator_tokens,
                };
                if self.f.state(c).bond_amount == 0 {
                    return;
                }
                self.f.deposit_from(c, &k, &from)
            }
            Action::Lock(w) => {
                let k = self.key(*w);
                self.f.lock(c, &k)
            }
            Action::Confirm(w, o) => {
                let k = self.key(*w);
                self.f.confirm(c, &k, *o)
            }
            Action::Resolve(w, o) => {
                let k = self.key(*w);
                self.f.resolve(c, &k, *o)
            }
            Action::Settle => self.f.settle(c),
            Action::Expire => self.f.expire(c),
            Action::Cancel(w) => {
                let k = self.key(*w);
                self.f.cancel(c, &k)
            }
            Action::Advance(s) => {
                self.f.advance(*s);
                return;
            }
            Action::Gift(amount) => {
                let vault = cix::vault_pda(c).0;
                if self
                    .f
                    .t
                    .chain
                    .account(&vault)
                    .is_none_or(|a| a.data.is_empty())
                {
                    return;
                }
                let stranger = self.stranger.insecure_clone();
                let from = self.stranger_tokens;
                if self
                    .f
                    .t
                    .chain
                    .transfer(&stranger, &from, &vault, *amount)
                    .is_ok()
                {
                    self.gifted += amount;
                }
                return;
            }
        };
    }
}

/// The happy path of `mode`, as actions. Confirmations use the drawn outcomes (they may
/// disagree, which leads through a dispute to the arbiter); attestations use the drawn
/// verification results (a failure cancels and refunds).
fn happy_path(mode: Mode, outcomes: [Outcome; 3], verified: [bool; 2]) -> Vec<Action> {
    use Action::*;
    let [first, second, ruling] = outcomes;
    let [creator_ok, counterparty_ok] = verified;
    match mode {
        Mode::Solo => vec![Lock(Who::Creator), Confirm(Who::Creator, first)],
        _ => {
            // Deposits may come before or after verification; interleaving them lets a failed
            // second attestation refund a bond already in the vault.
            let bonded = matches!(mode, Mode::Fire | Mode::Enforced);
            let mut path = vec![
                Accept(Who::Counterparty),
                Attest(Party::Creator, creator_ok, Who::Gatekeeper),
            ];
            if bonded {
                path.push(Deposit(Party::Creator));
            }
            path.push(Attest(
                Party::Counterparty,
                counterparty_ok,
                Who::Gatekeeper,
            ));
            if bonded {
                path.push(Deposit(Party::Counterparty));
            }
            path.extend([
                Lock(Who::Creator),
                Confirm(Who::Creator, first),
                Confirm(Who::Counterparty, second),
                Resolve(Who::Arbiter, ruling),
                Settle,
            ]);
            path
        }
    }
}

/// A perturbation of one happy-path step: keep it, replace it, and maybe insert a random
/// action before it.
fn perturbation() -> impl Strategy<Value = (bool, Action, Option<Action>)> {
    (
        prop::bool::weighted(0.88),
        action(),
        prop::option::weighted(0.2, action()),
    )
}

/// The run's seed: `VEIL_PROPTEST_SEED` for a soak with new cases, else a fixed one so that CI
/// runs the same cases every time.
fn seed() -> u64 {
    std::env::var("VEIL_PROPTEST_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x00c0_ffee)
}

fn cases() -> u32 {
    std::env::var("VEIL_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000)
}

/// How many cases ended in each interesting state, to show the generator reaches them.
#[derive(Debug, Default)]
struct Coverage {
    settled_with_slash: u32,
    settled_refund: u32,
    disputed: u32,
    expired_with_bonds: u32,
    cancelled_with_refund: u32,
    swept_surplus: u32,
}

#[test]
fn random_instruction_sequences_conserve_tokens_and_pay_only_parties() {
    let world = RefCell::new(World::new());
    let coverage = RefCell::new(Coverage::default());
    let config = Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    };
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&seed().to_le_bytes());
    eprintln!("conservation: {} cases, seed {}", config.cases, seed());
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes);
    let mut runner = TestRunner::new_with_rng(config, rng);
    let strategy = (
        mode(),
        1u64..=1_000_000,
        prop::bool::weighted(0.8),
        [outcome(), outcome(), outcome()],
        [prop::bool::weighted(0.9), prop::bool::weighted(0.9)],
        prop::collection::vec(perturbation(), 10),
        prop::collection::vec(action(), 0..6),
    );
    runner
        .run(
            &strategy,
            |(mode, bond, named, outcomes, verified, perturbations, tail)| {
                let mut actions = Vec::new();
                for (step, (keep, replacement, inserted)) in happy_path(mode, outcomes, verified)
                    .into_iter()
                    .zip(perturbations)
                {
                    actions.extend(inserted);
                    actions.push(if keep { step } else { replacement });
                }
                actions.extend(tail);
                let mut w = world.borrow_mut();
                let supply = w.supply();
                let stranger_before = w.f.t.chain.token_balance(&w.stranger_tokens);
                let mut treasury_before = w.f.t.chain.token_balance(&w.f.treasury_tokens);

                let mut args = w.f.args(mode);
                if args.bond_amount > 0 {
                    args.bond_amount = bond;
                }
                if !named && mode != Mode::Solo {
                    args.counterparty = None;
                }
                let (c, created) = w.f.create(args);
                if created.is_err() {
                    return Ok(());
                }
                w.vaults.push(cix::vault_pda(&c).0);
                w.gifted = 0;

                // The parties stop acting: a stranger cranks while time passes.
                let walk_away = [
                    Action::Advance(40 * 86_400),
                    Action::Expire,
                    Action::Settle,
                    Action::Advance(40 * 86_400),
                    Action::Expire,
                    Action::Settle,
                ];
                for action in actions.iter().chain(&walk_away) {
                    w.step(&c, action);
                    prop_assert_eq!(
                        w.held(),
                        supply,
                        "tokens created or destroyed by {:?}",
                        action
                    );
                    // The stranger may become the counterparty of an open challenge; until then its
                    // tokens must not move.
                    let state = w.f.state(&c);
                    if state.party_of(&w.stranger.pubkey()).is_none() {
                        prop_assert_eq!(
                            w.f.t.chain.token_balance(&w.stranger_tokens) + w.gifted,
                            stranger_before,
                            "a non-party was paid by {:?}",
                            action
                        );
                    }
                    let treasury = w.f.t.chain.token_balance(&w.f.treasury_tokens);
                    prop_assert!(treasury >= treasury_before, "the treasury lost tokens");
                    treasury_before = treasury;

                    let state = w.f.state(&c);
                    match w.f.balances(&c).vault {
                        Some(vault) => {
                            prop_assert_eq!(vault, state.deposited - state.paid_out + w.gifted)
                        }
                        None if state.bond_amount > 0 => {
                            prop_assert!(state.vault_closed);
                            prop_assert_eq!(state.paid_out, state.deposited);
                        }
                        None => {}
                    }
                }

                // Nobody cooperated at the end, and still nothing is stuck.
                let state = w.f.state(&c);
                if state.bond_amount > 0 {
                    prop_assert!(
                        state.vault_closed && w.f.balances(&c).vault.is_none(),
                        "tokens stuck in a {:?} challenge after {:?}",
                        state.status,
                        actions
                    );
                    prop_assert_eq!(state.paid_out, state.deposited);
                }
                prop_assert!(
                    state.bond_amount == 0 || state.status.is_terminal(),
                    "a bonded challenge still {:?} after everyone walked away",
                    state.status
                );
                prop_assert_eq!(w.held(), supply);
                let mut seen = coverage.borrow_mut();
                let bonded_out = state.vault_closed && state.deposited > 0;
                match state.status {
                    Status::Completed if bonded_out => match state.outcome {
                        Some(Outcome::CreatorWins | Outcome::CounterpartyWins) => {
                            seen.settled_with_slash += 1
                        }
                        _ => seen.settled_refund += 1,
                    },
                    Status::Expired if bonded_out => seen.expired_with_bonds += 1,
                    Status::Cancelled if bonded_out => seen.cancelled_with_refund += 1,
                    _ => {}
                }
                if state.arbiter_deadline != 0 {
                    seen.disputed += 1;
                }
                if w.gifted > 0 && state.vault_closed {
                    seen.swept_surplus += 1;
                }
                Ok(())
            },
        )
        .unwrap();

    // The properties are only as good as the paths they ran on.
    let seen = coverage.into_inner();
    eprintln!("coverage: {seen:?}");
    if cases() >= 500 {
        assert!(
            seen.settled_with_slash > 0,
            "no slashing settlement reached: {seen:?}"
        );
        assert!(
            seen.settled_refund > 0,
            "no refunding settlement reached: {seen:?}"
        );
        assert!(
            seen.expired_with_bonds > 0,
            "no bonded expiry reached: {seen:?}"
        );
        assert!(
            seen.cancelled_with_refund > 0,
            "no refunding cancellation reached: {seen:?}"
        );
        assert!(seen.disputed > 0, "no dispute reached: {seen:?}");
        assert!(
            seen.swept_surplus > 0,
            "no surplus swept out of a vault: {seen:?}"
        );
    }
}
