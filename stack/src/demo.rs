//! The guided demo: a client of the running stack that signs its requests with the stack's
//! API key (HMAC, `X-Timestamp`/`X-Nonce`/`X-Signature`) and its wallet steps with the demo
//! wallets, printing every request and answer.

use base64::Engine;
use serde_json::{json, Value};
use solana_signer::Signer;
use solana_transaction::Transaction;
use veil_circuits::identity;
use veil_poseidon::to_be_bytes;
use veil_relayer::registry::registration_message;

use crate::{
    client::{ClientError, SignedClient},
    data::{DataDir, DataError, Session},
};

/// The demo's steps, in order.
pub const STEPS: [&str; 9] = [
    "mint", "webhook", "session", "register", "publish", "prove", "verify", "evm", "fire",
];

/// Why a demo step failed.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The data directory or session.
    #[error(transparent)]
    Data(#[from] DataError),
    /// The request could not be sent.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The relayer answered with an error the step did not expect.
    #[error("{method} {path} answered {status}: {body}")]
    Refused {
        /// The method.
        method: String,
        /// The path.
        path: String,
        /// The status.
        status: u16,
        /// The body.
        body: Value,
    },
    /// A step needs an earlier one.
    #[error("run `demo {0}` first")]
    Missing(&'static str),
    /// Not a step.
    #[error("unknown step `{0}` (steps: mint, webhook, session, register, publish, prove, verify, evm, fire, all)")]
    UnknownStep(String),
    /// The stack runs without its EVM node.
    #[error("the stack runs without its EVM node (`veil-stack up` printed why; it needs Node.js and npm, see the README)")]
    NoEvm,
    /// The stack runs without its webhook receiver.
    #[error("the stack runs without its webhook receiver (`veil-stack up` printed why; it needs Node.js and npm, see the README)")]
    NoWebhooks,
    /// An answer said something other than the step expected.
    #[error("{0}")]
    Unexpected(String),
    /// The arguments are not a request.
    #[error("{0}")]
    Usage(String),
}

/// The copyable guide `up` prints.
pub fn print_guide(session: &Session, data: &DataDir) {
    let dir = data.root.display();
    let run = format!("cargo run -q --bin veil-stack -- --data-dir {dir}");
    println!();
    println!(
        "  relayer     {}   (API docs: {}/docs)",
        session.relayer_url, session.relayer_url
    );
    println!("  indexer     {}   (analytics API)", session.indexer_url);
    println!(
        "  demo token  {}   (alice and bob hold 100 each)",
        session.mint
    );
    println!("  API key     {dir}/session.json (every scope; requests are HMAC-signed)");
    println!();
    println!("Guided demo: in another terminal, run each step (or `demo all`):");
    println!("  1. mint a ChittyID (anchored on chain within ~10 s):  {run} demo mint");
    println!("  2. its webhooks arrive, minted then anchored:        {run} demo webhook");
    println!("  3. alice signs in with her wallet, mints, signs out: {run} demo session");
    println!("  4. alice registers her identity for the token:       {run} demo register");
    println!("  5. publish the track's Merkle root on chain:         {run} demo publish");
    println!("  6. prove alice holds the token, privately:           {run} demo prove");
    println!("  7. verify ownership on chain (twice: 200, then 409): {run} demo verify");
    println!("  8. carol signs in with an EVM wallet, proves funds:  {run} demo evm");
    println!("  9. a Fire challenge, alice vs bob, bonded, gated:    {run} demo fire");
    println!("Any signed call:  {run} call GET /api/v2/chittyid/verify/<id>");
    println!(
        "Analytics:       curl {}/api/v1/analytics/verifications",
        session.indexer_url
    );
    println!("Ctrl-C stops the stack (the chain is in memory; each start is a fresh chain).");
}

/// A signed client of the stack's relayer.
pub struct Client {
    session: Session,
    signed: SignedClient,
    data: DataDir,
}

impl Client {
    /// From the running stack's session.
    pub fn new(data: &DataDir) -> Result<Self, DemoError> {
        let session = data.session()?;
        Ok(Self {
            signed: SignedClient::new(
                &session.relayer_url,
                &session.api_key,
                &session.signing_secret,
            ),
            session,
            data: data.clone(),
        })
    }

    /// Sends a signed request; status and JSON body, printed.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(u16, Value), DemoError> {
        let (status, value) = self.signed.call(method, path, body).await?;
        println!("> {method} {path}");
        if let Some(body) = body {
            println!("  {}", short(body));
        }
        println!("< {status} {}", short(&value));
        Ok((status, value))
    }

    /// A signed call that must succeed.
    async fn ok(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value, DemoError> {
        let (status, value) = self.call(method, path, body).await?;
        if !(200..300).contains(&status) {
            return Err(DemoError::Refused {
                method: method.into(),
                path: path.into(),
                status,
                body: value,
            });
        }
        Ok(value)
    }

    /// Builds a wallet step through `path`, signs it with `wallet`, and forwards it.
    async fn wallet_step(
        &self,
        path: &str,
        body: &Value,
        wallet: &str,
    ) -> Result<Value, DemoError> {
        let built = self.ok("POST", path, Some(body)).await?;
        let keypair = self.data.wallet(wallet)?;
        let engine = base64::engine::general_purpose::STANDARD;
        let bytes = engine
            .decode(built["transaction"].as_str().unwrap_or_default())
            .map_err(|_| DemoError::Usage("the relayer's transaction is not base64".into()))?;
        let mut tx: Transaction = bincode::deserialize(&bytes)
            .map_err(|_| DemoError::Usage("the relayer's transaction does not decode".into()))?;
        let blockhash = tx.message.recent_blockhash;
        tx.try_sign(&[&keypair], blockhash)
            .map_err(|e| DemoError::Usage(format!("{wallet} cannot sign: {e}")))?;
        println!("  ({wallet} signs)");
        let encoded = engine.encode(bincode::serialize(&tx).unwrap_or_default());
        let landed = self
            .ok(
                "POST",
                "/api/v2/transactions",
                Some(&json!({ "transaction": encoded })),
            )
            .await?;
        Ok(json!({ "challenge": built["challenge"], "signature": landed["signature"] }))
    }

    fn secret(&self, wallet: &str) -> Result<([u8; 32], [u8; 32]), DemoError> {
        let keypair = self.data.wallet(wallet)?;
        let signature = keypair.sign_message(identity::IDENTITY_MESSAGE);
        let secret = identity::secret_from_signature(signature.as_ref());
        Ok((
            to_be_bytes(&secret),
            to_be_bytes(&identity::commitment(&secret)),
        ))
    }

    /// Runs one step.
    pub async fn step(&self, step: &str) -> Result<(), DemoError> {
        println!("\n== {step}");
        let mint = self.session.mint.clone();
        match step {
            "mint" => {
                let content = base64::engine::general_purpose::STANDARD
                    .encode(b"hello from the Chitty Veil demo");
                let minted = self
                    .ok(
                        "POST",
                        "/api/v2/chittyid/mint",
                        Some(&json!({"namespace": "CHI", "entity_type": "P", "content": content})),
                    )
                    .await?;
                let id = minted["id"].as_str().unwrap_or_default().to_owned();
                self.ok("GET", &format!("/api/v2/chittyid/verify/{id}"), None)
                    .await?;
                println!(
                    "  status is `pending` until the batch is anchored; verify it again in ~10 s:"
                );
                println!("  veil-stack call GET /api/v2/chittyid/verify/{id}");
            }
            "register" => {
                let wallet = self.data.wallet("alice")?;
                let (_, commitment) = self.secret("alice")?;
                let message = registration_message(
                    &mint
                        .parse()
                        .map_err(|_| DemoError::Usage("bad mint".into()))?,
                    &commitment,
                );
                println!("  alice signs: {message:?}");
                let signature = wallet.sign_message(message.as_bytes());
                self.ok(
                    "POST",
                    "/api/v2/registry/register",
                    Some(&json!({
                        "wallet": wallet.pubkey().to_string(), "mint": mint,
                        "commitment": hex::encode(commitment), "signature": signature.to_string(),
                    })),
                )
                .await?;
            }
            "publish" => {
                self.ok(
                    "POST",
                    "/api/v2/registry/publish",
                    Some(&json!({"mint": mint})),
                )
                .await?;
            }
            "prove" => {
                let (secret, _) = self.secret("alice")?;
                let recipient = self.data.wallet("alice")?.pubkey().to_string();
                let proof = self
                    .ok(
                        "POST",
                        "/api/v2/prove",
                        Some(&json!({
                            "secret": hex::encode(secret), "mint": mint,
                            "action": "claim-access", "recipient": recipient,
                        })),
                    )
                    .await?;
                let path = self.data.demo_file("proof");
                std::fs::write(&path, proof.to_string()).map_err(|source| DataError::Io {
                    path: path.clone(),
                    source,
                })?;
                println!("  proof saved to {}", path.display());
            }
            "verify" => {
                let path = self.data.demo_file("proof");
                let proof: Value = std::fs::read(&path)
                    .ok()
                    .and_then(|b| serde_json::from_slice(&b).ok())
                    .ok_or(DemoError::Missing("prove"))?;
                self.ok("POST", "/api/v2/verify-ownership", Some(&proof))
                    .await?;
                println!("  and the same proof again (a spent nullifier is a typed 409):");
                let (status, body) = self
                    .call("POST", "/api/v2/verify-ownership", Some(&proof))
                    .await?;
                if status != 409 {
                    return Err(DemoError::Refused {
                        method: "POST".into(),
                        path: "/api/v2/verify-ownership".into(),
                        status,
                        body,
                    });
                }
            }
            "evm" => self.evm().await?,
            "webhook" => self.webhook().await?,
            "session" => self.session().await?,
            "fire" => self.fire(&mint).await?,
            other => return Err(DemoError::UnknownStep(other.to_owned())),
        }
        Ok(())
    }

    /// A request as a browser sends it: no API key, an optional session token; printed.
    async fn keyless(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        token: Option<&str>,
    ) -> Result<Value, DemoError> {
        let mut request = reqwest::Client::new().request(
            method.clone(),
            format!("{}{path}", self.session.relayer_url),
        );
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        println!(
            "> {method} {path}{}",
            if token.is_some() {
                "  (Authorization: Bearer vs_…, no API key)"
            } else {
                "  (no API key)"
            }
        );
        let response = request
            .send()
            .await
            .map_err(|e| DemoError::Unexpected(format!("{method} {path}: {e}")))?;
        let status = response.status().as_u16();
        let value: Value = response.json().await.unwrap_or(Value::Null);
        println!("< {status} {}", short(&value));
        if !(200..300).contains(&status) {
            return Err(DemoError::Refused {
                method: method.to_string(),
                path: path.into(),
                status,
                body: value,
            });
        }
        Ok(value)
    }

    /// Alice signs in with her wallet as a browser would (no API key), through the Rust client
    /// library (`veil-rest-client`), mints an ID with her session and signs out; the token then
    /// stops working.
    async fn session(&self) -> Result<(), DemoError> {
        let alice = self.data.wallet("alice")?;
        let client = veil_rest_client::Client::builder(&self.session.relayer_url)
            .build()
            .map_err(|e| DemoError::Unexpected(e.to_string()))?;
        let address = alice.pubkey().to_string();
        println!("> POST /api/v2/auth/challenge, POST /api/v2/auth/session  (no API key)");
        let session = client
            .sign_in("solana:localnet", &address, |message| {
                println!("  (alice signs the Sign-In With Solana message)");
                alice.sign_message(message.as_bytes()).to_string()
            })
            .await
            .map_err(|e| DemoError::Unexpected(format!("sign-in: {e}")))?;
        println!(
            "< session for {} until {}",
            session.address, session.expires_at
        );
        let content =
            base64::engine::general_purpose::STANDARD.encode(b"minted by alice's session");
        println!("> POST /api/v2/chittyid/mint  (Authorization: Bearer vs_…, Idempotency-Key)");
        let minted = client
            .mint(&veil_rest_client::MintRequest {
                namespace: "CHI".into(),
                entity_type: "P".into(),
                content: Some(content.clone()),
                metadata: Some(json!({"source": "veil-stack demo"})),
                ..veil_rest_client::MintRequest::default()
            })
            .await
            .map_err(|e| DemoError::Unexpected(format!("session mint: {e}")))?;
        println!(
            "< {} (idempotency key {})",
            minted.id, minted.idempotency_key
        );
        client
            .sign_out()
            .await
            .map_err(|e| DemoError::Unexpected(format!("sign-out: {e}")))?;
        println!("  signed out; the same token again:");
        match self
            .keyless(
                reqwest::Method::POST,
                "/api/v2/chittyid/mint",
                Some(&json!({"namespace": "CHI", "entity_type": "P", "content": content})),
                Some(&session.token),
            )
            .await
        {
            Err(DemoError::Refused {
                status: 401, body, ..
            }) if body["error"]["code"] == "AUTH_SESSION_INVALID" => Ok(()),
            other => Err(DemoError::Unexpected(format!(
                "a signed-out session still answered: {other:?}"
            ))),
        }
    }

    /// `wallet` signs in with Sign-In With Solana; the verification's id.
    async fn sign_in_solana(&self, wallet: &str) -> Result<String, DemoError> {
        let keypair = self.data.wallet(wallet)?;
        let issued = self
            .ok(
                "POST",
                "/gatekeeper/v2/wallet/challenge",
                Some(&json!({"chain_id": "solana:localnet", "address": keypair.pubkey().to_string()})),
            )
            .await?;
        let message = issued["message"].as_str().unwrap_or_default();
        println!("  ({wallet} signs the Sign-In With Solana message)");
        let signature = keypair.sign_message(message.as_bytes()).to_string();
        let verified = self
            .ok(
                "POST",
                "/gatekeeper/v2/wallet/verify",
                Some(&json!({"message": message, "signature": signature})),
            )
            .await?;
        Ok(verified["verification_id"]
            .as_str()
            .unwrap_or_default()
            .to_owned())
    }

    /// Carol signs in with her EVM wallet (EIP-4361, EIP-191) and proves funds on the local EVM
    /// node: PASSED and FAILED, never a balance.
    async fn evm(&self) -> Result<(), DemoError> {
        use veil_relayer::gatekeeper::evm;
        let node = self.session.evm.clone().ok_or(DemoError::NoEvm)?;
        let key = self.data.evm_wallet()?;
        let address = evm::Address::of(key.verifying_key()).checksummed();
        let issued = self
            .ok(
                "POST",
                "/gatekeeper/v2/wallet/challenge",
                Some(&json!({"chain_id": node.chain_id, "address": address})),
            )
            .await?;
        let message = issued["message"].as_str().unwrap_or_default();
        println!("  carol signs (EIP-191 personal_sign):");
        for line in message.lines() {
            println!("    | {line}");
        }
        let verified = self
            .ok(
                "POST",
                "/gatekeeper/v2/wallet/verify",
                Some(
                    &json!({"message": message, "signature": evm::sign(&key, message.as_bytes())}),
                ),
            )
            .await?;
        let id = verified["verification_id"].as_str().unwrap_or_default();
        for (asset, threshold, expected) in [
            ("native", "1", "PASSED"),
            (node.token.as_str(), "100", "PASSED"),
            (node.token.as_str(), "1000", "FAILED"),
        ] {
            let checked = self
                .ok(
                    "POST",
                    "/gatekeeper/v2/funds/check",
                    Some(&json!({"verification_id": id, "asset": asset, "threshold": threshold})),
                )
                .await?;
            if checked["result"] != expected {
                return Err(DemoError::Unexpected(format!(
                    "carol's funds check of {threshold} {asset} answered {}, not {expected}",
                    checked["result"]
                )));
            }
        }
        println!(
            "  carol holds 5 ETH and 250 VUSD: at least 1 ETH and 100 VUSD pass, 1,000 VUSD fails;"
        );
        println!(
            "  no answer and no stored row holds her balance (a salted hash of it, and the block)."
        );
        Ok(())
    }

    /// Waits for the receiver to have verified a `chittyid.minted` and a `chittyid.anchored`
    /// delivery (the mint step's ID, anchored within ~10 s), printing each as it arrives; then
    /// lists the endpoint's deliveries as the relayer recorded them.
    async fn webhook(&self) -> Result<(), DemoError> {
        let hook = self.session.webhook.clone().ok_or(DemoError::NoWebhooks)?;
        println!(
            "  the stack's receiver at {}/hook/{} checks each delivery with the npm `standardwebhooks` library",
            hook.receiver_url, hook.hook
        );
        let http = reqwest::Client::new();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(45);
        let mut shown = 0;
        loop {
            let (accepted, _) = crate::receiver::received(&http, &hook.receiver_url, &hook.hook)
                .await
                .map_err(|e| DemoError::Unexpected(e.to_string()))?;
            let mut types = Vec::new();
            for (n, delivery) in accepted.iter().enumerate() {
                let body: Value = delivery["body"]
                    .as_str()
                    .and_then(|b| serde_json::from_str(b).ok())
                    .unwrap_or(Value::Null);
                let kind = body["type"].as_str().unwrap_or_default().to_owned();
                if n >= shown {
                    println!(
                        "  < {kind} {} ({}, signature verified)",
                        body["subject"].as_str().unwrap_or_default(),
                        delivery["id"].as_str().unwrap_or_default()
                    );
                }
                types.push(kind);
            }
            shown = accepted.len();
            if ["chittyid.minted", "chittyid.anchored"]
                .iter()
                .all(|t| types.iter().any(|k| k == t))
            {
                break;
            }
            if std::time::Instant::now() > deadline {
                return Err(if types.iter().any(|k| k == "chittyid.minted") {
                    DemoError::Unexpected(
                        "no chittyid.anchored delivery within 45 s (is the chain running?)".into(),
                    )
                } else {
                    DemoError::Missing("mint")
                });
            }
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        }
        self.ok(
            "GET",
            &format!("/api/v2/webhooks/endpoints/{}/deliveries", hook.endpoint_id),
            None,
        )
        .await?;
        Ok(())
    }

    async fn fire(&self, mint: &str) -> Result<(), DemoError> {
        let alice = self.data.wallet("alice")?.pubkey().to_string();
        let bob = self.data.wallet("bob")?.pubkey().to_string();
        let arbiter = self.data.wallet("arbiter")?.pubkey().to_string();
        // Every bonded challenge has a response deadline; the local chain's clock follows the
        // wall clock, and a day is well inside the stack's response window (10 s .. 30 days).
        let response_deadline = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
            .saturating_add(86_400);
        let created = self
            .wallet_step(
                "/api/v2/challenges",
                &json!({
                    "creator": alice, "mode": "fire", "counterparty": bob, "arbiter": arbiter,
                    "terms": "alice and bob: first to finish the demo wins",
                    "bond_mint": mint, "bond_amount": 10_000_000u64,
                    "winner_share_bps": 7_000, "treasury_share_bps": 2_000,
                    "response_deadline": response_deadline,
                }),
                "alice",
            )
            .await?;
        let address = created["challenge"].as_str().unwrap_or_default().to_owned();
        let at = |step: &str| format!("/api/v2/challenges/{address}/{step}");
        self.wallet_step(&at("accept"), &json!({"counterparty": bob}), "bob")
            .await?;
        // The gatekeeper: each party signs in with its wallet, and the attestation cites the
        // verification; the bond is checked as a funds attestation of that wallet.
        for (party, wallet) in [("creator", "alice"), ("counterparty", "bob")] {
            let verification = self.sign_in_solana(wallet).await?;
            self.ok(
                "POST",
                &at("attest"),
                Some(&json!({"party": party, "wallet_verification_id": verification})),
            )
            .await?;
        }
        self.wallet_step(&at("deposit"), &json!({"party": "creator"}), "alice")
            .await?;
        self.wallet_step(&at("deposit"), &json!({"party": "counterparty"}), "bob")
            .await?;
        self.wallet_step(&at("lock"), &json!({"party": "creator"}), "alice")
            .await?;
        for (party, wallet) in [("creator", "alice"), ("counterparty", "bob")] {
            self.wallet_step(
                &at("confirm"),
                &json!({"party": party, "outcome": "creator_wins"}),
                wallet,
            )
            .await?;
        }
        self.ok("POST", &at("settle"), Some(&json!({}))).await?;
        self.ok("GET", &format!("/api/v2/challenges/{address}"), None)
            .await?;
        println!("  alice won: her 10-token bond back, plus 7 of bob's and the 1 left over; the treasury took 2.");
        Ok(())
    }
}

/// A value for one line of output: strings longer than 96 characters (transactions, proofs)
/// shortened to their head and length.
fn short(value: &Value) -> String {
    fn shorten(value: &Value) -> Value {
        match value {
            Value::String(text) if text.len() > 96 => {
                let head: String = text.chars().take(24).collect();
                Value::String(format!("{head}…({} chars)", text.len()))
            }
            Value::Array(items) => Value::Array(items.iter().map(shorten).collect()),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(key, value)| (key.clone(), shorten(value)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
    shorten(value).to_string()
}
