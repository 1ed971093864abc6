//! The relayer over a real socket, and SPL token setup over the localnet's JSON-RPC: what the
//! end-to-end tests share.

use std::{net::SocketAddr, sync::Arc};

use anchor_lang::{
    prelude::Pubkey,
    solana_program::{program_pack::Pack, system_instruction},
};
use anchor_spl::{
    associated_token::{self, spl_associated_token_account::instruction as ata_ix},
    token::spl_token::{self, instruction as token_ix},
};
use serde_json::Value;
use solana_keypair::Keypair;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_signer::Signer;
use veil_relayer::{
    platform::auth::{signature::sign_request, CreatedKey, SigningSecret},
    platform::clock::Clock,
};

use super::send;
use crate::relayer::support::{fresh_nonce, TestApp};

/// A relayer served on a loopback port, called with reqwest.
pub struct Wire {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    client: reqwest::Client,
    clock: Arc<dyn Clock>,
}

/// A response: status, headers, JSON body (`Null` if not JSON).
pub struct Answer {
    /// The status.
    pub status: u16,
    /// `Retry-After`, if any.
    pub retry_after: Option<String>,
    /// The body, as JSON (`Null` if it is not).
    pub body: Value,
    /// The body, as text.
    pub text: String,
}

impl Answer {
    /// The error code of an error body.
    pub fn code(&self) -> &str {
        self.body["error"]["code"]
            .as_str()
            .unwrap_or("<no error code>")
    }
}

impl Wire {
    /// Serves `t`'s router on a free port until the test's runtime ends.
    pub async fn serve(t: &TestApp) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("address");
        let app = t
            .router
            .clone()
            .into_make_service_with_connect_info::<SocketAddr>();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            base: format!("http://{addr}"),
            client: reqwest::Client::new(),
            clock: t.clock.clone(),
        }
    }

    /// A client of the relayer already served at `base`.
    pub fn at(base: &str, clock: Arc<dyn Clock>) -> Self {
        Self {
            base: base.to_owned(),
            client: reqwest::Client::new(),
            clock,
        }
    }

    async fn answer(response: reqwest::Response) -> Answer {
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let text = response.text().await.expect("body");
        Answer {
            status,
            retry_after,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
            text,
        }
    }

    /// A signed POST of `body` with `key`.
    pub async fn post(&self, path: &str, body: &Value, key: &CreatedKey) -> Answer {
        let bytes = serde_json::to_vec(body).expect("json");
        let secret = SigningSecret::from_hex(&key.signing_secret).expect("signing secret");
        let headers = sign_request(
            "POST",
            path,
            &bytes,
            &secret,
            self.clock.now_unix(),
            &fresh_nonce(),
        );
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .header("x-api-key", &key.api_key)
            .header("x-timestamp", &headers.timestamp)
            .header("x-nonce", &headers.nonce)
            .header("x-signature", &headers.signature)
            .body(bytes)
            .send()
            .await
            .expect("the relayer answers");
        Self::answer(response).await
    }

    /// A GET with `key`.
    pub async fn get(&self, path: &str, key: &CreatedKey) -> Answer {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .header("x-api-key", &key.api_key)
            .send()
            .await
            .expect("the relayer answers");
        Self::answer(response).await
    }
}

/// Creates a mint (6 decimals) with `authority` as its mint authority; `payer` pays.
pub async fn create_mint(rpc: &RpcClient, payer: &Keypair, authority: &Pubkey) -> Pubkey {
    let mint = Keypair::new();
    let len = spl_token::state::Mint::LEN;
    let rent = rpc
        .get_minimum_balance_for_rent_exemption(len)
        .await
        .expect("rent");
    let ixs = [
        system_instruction::create_account(
            &payer.pubkey(),
            &mint.pubkey(),
            rent,
            len as u64,
            &spl_token::ID,
        ),
        token_ix::initialize_mint2(&spl_token::ID, &mint.pubkey(), authority, None, 6)
            .expect("initialize_mint2"),
    ];
    send(rpc, payer, &ixs, &[&mint]).await.expect("create mint");
    mint.pubkey()
}

/// Creates `owner`'s associated token account of `mint` and mints `amount` into it; its
/// address.
pub async fn fund_tokens(
    rpc: &RpcClient,
    authority: &Keypair,
    mint: &Pubkey,
    owner: &Pubkey,
    amount: u64,
) -> Pubkey {
    let account = associated_token::get_associated_token_address(owner, mint);
    let ixs = [
        ata_ix::create_associated_token_account_idempotent(
            &authority.pubkey(),
            owner,
            mint,
            &spl_token::ID,
        ),
        token_ix::mint_to(
            &spl_token::ID,
            mint,
            &account,
            &authority.pubkey(),
            &[],
            amount,
        )
        .expect("mint_to"),
    ];
    send(rpc, authority, &ixs, &[]).await.expect("fund tokens");
    account
}
