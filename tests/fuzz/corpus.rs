//! The seed corpus, made by the real builders (`write_seed_corpus` writes it to
//! `fuzz/corpus/`): valid inputs of every shape each target reads, so mutations start deep in
//! the parsers rather than at their first check.

use anchor_lang::{prelude::Pubkey, Event};
use base64::Engine;
use serde_json::{json, Map, Value};
use solana_keypair::Keypair;
use solana_signer::Signer;
use solana_transaction::Transaction;
use veil_chittyid::{
    provisional::{ProvisionalDraft, ProvisionalRecord},
    ChittyId, EntityType, IssuerClass,
};
use veil_client::{challenge as cix, registry as rix};

type Seeds = Vec<(String, Vec<u8>)>;

/// Every target's seeds, by target name.
pub fn seeds() -> Vec<(&'static str, Seeds)> {
    vec![
        ("chittyid", chittyid()),
        ("provisional_record", provisional_record()),
        ("signature_headers", signature_headers()),
        ("relayer_bodies", relayer_bodies()),
        ("forwarded_transaction", forwarded_transaction()),
        ("siws_message", siws_message()),
        ("indexer_events", indexer_events()),
        ("program_instructions", program_instructions()),
    ]
}

fn named(items: impl IntoIterator<Item = Vec<u8>>) -> Seeds {
    items
        .into_iter()
        .enumerate()
        .map(|(i, bytes)| (format!("seed-{i:02}"), bytes))
        .collect()
}

fn ids() -> Vec<ChittyId> {
    [
        (
            IssuerClass::Authoritative,
            "CHI",
            "0000000A",
            EntityType::Info,
            26,
            12,
            0,
        ),
        (
            IssuerClass::Fallback,
            "CHI",
            "ZZZZZZZZ",
            EntityType::Person,
            26,
            1,
            9,
        ),
        (
            IssuerClass::Authoritative,
            "VEIL",
            "7K3M9QX2",
            EntityType::Event,
            99,
            12,
            3,
        ),
        (
            IssuerClass::Fallback,
            "ABC",
            "00000001",
            EntityType::Place,
            0,
            6,
            5,
        ),
    ]
    .into_iter()
    .map(|(issuer, ns, seq, entity, yy, mm, trust)| {
        ChittyId::new(issuer, ns, seq, entity, yy, mm, trust).expect("a valid id")
    })
    .collect()
}

fn chittyid() -> Seeds {
    let mut out: Vec<Vec<u8>> = ids().iter().map(|id| id.to_string().into_bytes()).collect();
    out.push(b"CHITTY-PEO-000001-ABC".to_vec());
    out.push(ids()[0].to_string().to_lowercase().into_bytes());
    named(out)
}

fn provisional_record() -> Seeds {
    // Signed by the key the target pins ([7; 32]), so mutations start from a verifying record.
    let key = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
    let provisional = ChittyId::new(
        IssuerClass::Fallback,
        "CHI",
        "00000042",
        EntityType::Info,
        26,
        12,
        0,
    )
    .unwrap();
    let draft = |seq_no: u64, nonce: &[u8]| ProvisionalDraft {
        seq_no,
        provisional_id: provisional.clone(),
        content_hash: [0x2c; 32],
        request_nonce: nonce.to_vec(),
        // 2026-12-05 UTC, in the ID's YYMM.
        issued_at: 1_796_428_800,
    };
    let signed = ProvisionalRecord::sign(draft(1, b"n1"), &key).expect("signs");
    let other = ProvisionalRecord::sign(
        draft(2, &[0xab; 64]),
        &ed25519_dalek::SigningKey::from_bytes(&[8u8; 32]),
    )
    .expect("signs");
    let mut unsigned = serde_json::to_value(&signed).unwrap();
    unsigned["signature"] = json!("00");
    named([
        serde_json::to_vec(&signed).unwrap(),
        serde_json::to_vec(&other).unwrap(),
        serde_json::to_vec(&unsigned).unwrap(),
        serde_json::to_vec(&json!({"records": [signed], "after": 0})).unwrap(),
    ])
}

fn signature_headers() -> Seeds {
    let secret = veil_signing::SigningSecret::from_bytes([9u8; 32]);
    let body = br#"{"namespace":"CHI","entity_type":"I","content_hash":"2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"}"#;
    let nonce = "4f1c2a9e8b7d6c5a4f1c2a9e8b7d6c5a";
    let signed = veil_signing::sign_request(
        "POST",
        "/api/v2/chittyid/mint",
        body,
        &secret,
        1_750_000_000,
        nonce,
    );
    let key = format!("cvk_0123456789abcdef_{}", "A".repeat(43));
    let join = |parts: [&[u8]; 5]| parts.join(&0xffu8);
    named([
        join([
            b"1750000000",
            nonce.as_bytes(),
            signed.signature.as_bytes(),
            key.as_bytes(),
            body,
        ]),
        join([
            b"0",
            b"short",
            signed.signature.to_uppercase().as_bytes(),
            b"cvk_",
            b"",
        ]),
        join([b"01750000000", b"a_b-c", b"zz", b"Bearer x", b"{}"]),
    ])
}

/// An instance of `schema` (resolving `$ref`s in `doc`): every property, typed.
fn instance(doc: &Value, schema: &Value, depth: usize) -> Value {
    if depth > 6 {
        return Value::Null;
    }
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.trim_start_matches("#/components/schemas/");
        return instance(doc, &doc["components"]["schemas"][name], depth + 1);
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(options) = schema[key].as_array() {
            let chosen = options
                .iter()
                .find(|o| o["type"] != "null")
                .unwrap_or(&Value::Null);
            return instance(doc, chosen, depth + 1);
        }
    }
    if let Some(values) = schema["enum"].as_array() {
        return values.first().cloned().unwrap_or(Value::Null);
    }
    let ty = match &schema["type"] {
        Value::Array(types) => types
            .iter()
            .find(|t| *t != "null")
            .cloned()
            .unwrap_or(Value::Null),
        other => other.clone(),
    };
    match ty.as_str() {
        Some("object") => {
            let mut out = Map::new();
            if let Some(properties) = schema["properties"].as_object() {
                for (name, property) in properties {
                    out.insert(name.clone(), instance(doc, property, depth + 1));
                }
            } else if schema["additionalProperties"].is_object() {
                out.insert("FF_CHALLENGES".into(), json!("on"));
            }
            Value::Object(out)
        }
        Some("array") => json!([instance(doc, &schema["items"], depth + 1)]),
        Some("integer") => json!(1),
        Some("number") => json!(1.5),
        Some("boolean") => json!(true),
        Some("string") => json!("CHI"),
        _ => Value::Null,
    }
}

fn relayer_bodies() -> Seeds {
    let doc: Value = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../clients/ts/openapi.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let mut out = Vec::new();
    for (index, name) in veil_fuzz::BODY_SCHEMAS.iter().enumerate() {
        let body = instance(&doc, &doc["components"]["schemas"][*name], 0);
        let mut bytes = vec![u8::try_from(index).unwrap()];
        bytes.extend(serde_json::to_vec(&body).unwrap());
        out.push(((*name).to_owned(), bytes));
    }
    // The mint of the signing worked example, and an empty reconcile.
    let mut mint = vec![0u8];
    mint.extend_from_slice(br#"{"namespace":"CHI","entity_type":"I","trust_level":0,"content_hash":"2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"}"#);
    out.push(("MintBody-example".into(), mint));
    out.push(("ReconcileBody-empty".into(), vec![1, b' ']));
    out
}

fn signed_legacy(
    ixs: &[anchor_lang::solana_program::instruction::Instruction],
    payer: &Keypair,
) -> Vec<u8> {
    let tx = Transaction::new_signed_with_payer(
        ixs,
        Some(&payer.pubkey()),
        &[payer],
        Default::default(),
    );
    bincode::serialize(&tx).unwrap()
}

fn forwarded_transaction() -> Seeds {
    use solana_message::{v0, VersionedMessage};
    use solana_transaction::versioned::VersionedTransaction;
    let wallet = Keypair::new_from_array([11u8; 32]);
    let challenge = cix::challenge_pda(&wallet.pubkey(), 1).0;
    let accept = cix::accept(&wallet.pubkey(), &challenge);
    let lock = cix::lock_intent(&wallet.pubkey(), &challenge);
    let legacy = signed_legacy(&[accept.clone(), lock], &wallet);
    // The same accept as a v0 transaction.
    let tx: Transaction = bincode::deserialize(&signed_legacy(&[accept], &wallet)).unwrap();
    let message = VersionedMessage::V0(v0::Message {
        header: tx.message.header,
        account_keys: tx.message.account_keys.clone(),
        recent_blockhash: tx.message.recent_blockhash,
        instructions: tx.message.instructions.clone(),
        address_table_lookups: vec![],
    });
    let signature = wallet.sign_message(&bincode::serialize(&message).unwrap());
    let v0 = bincode::serialize(&VersionedTransaction {
        signatures: vec![signature],
        message,
    })
    .unwrap();
    // A transfer to a program the relayer does not forward for.
    let mut data = 2u32.to_le_bytes().to_vec();
    data.extend_from_slice(&5u64.to_le_bytes());
    let transfer = anchor_lang::solana_program::instruction::Instruction {
        program_id: anchor_lang::system_program::ID,
        accounts: vec![
            anchor_lang::solana_program::instruction::AccountMeta::new(wallet.pubkey(), true),
            anchor_lang::solana_program::instruction::AccountMeta::new(
                Pubkey::new_from_array([12; 32]),
                false,
            ),
        ],
        data,
    };
    let refused = signed_legacy(&[transfer], &wallet);
    let base64 = base64::engine::general_purpose::STANDARD.encode(&legacy);
    named([legacy, v0, refused, base64.into_bytes()])
}

fn siws_message() -> Seeds {
    use veil_relayer::gatekeeper::message::{Family, SignIn};
    let solana = SignIn {
        family: Family::Solana,
        domain: "app.example.com".into(),
        address: Keypair::new_from_array([13u8; 32]).pubkey().to_string(),
        statement: Some("Sign in to Chitty Veil.".into()),
        uri: "https://app.example.com/login".into(),
        version: "1".into(),
        chain_id: "localnet".into(),
        nonce: "a1b2c3d4e5f6a7b8".into(),
        issued_at: "2026-12-05T14:00:00Z".into(),
        expiration_time: Some("2026-12-05T14:05:00Z".into()),
    };
    let evm = SignIn {
        family: Family::Evm,
        address: "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed".into(),
        chain_id: "31337".into(),
        statement: None,
        expiration_time: None,
        ..solana.clone()
    };
    named([
        solana.to_text().into_bytes(),
        evm.to_text().into_bytes(),
        b"solana:mainnet".to_vec(),
        b"eip155:31337".to_vec(),
    ])
}

/// `control ‖ len ‖ data` records of the target's format.
fn record(control: u8, data: &[u8]) -> Vec<u8> {
    let mut out = vec![control, u8::try_from(data.len()).expect("a short record")];
    out.extend_from_slice(data);
    out
}

fn indexer_events() -> Seeds {
    let key = |b: u8| Pubkey::new_from_array([b; 32]);
    let paused = registry::events::PauseSet { paused: true }.data();
    let registrar = registry::events::RegistrarSet {
        previous: key(1),
        registrar: key(2),
    }
    .data();
    let status = challenge::events::StatusChanged {
        challenge: key(3),
        from: None,
        to: challenge::state::Status::AwaitingCounterparty,
        at: 1_796_428_800,
    }
    .data();
    // Program 0: registry; 1: challenge; 2: another. 0x80: with the event tag; 0x40: the
    // next record starts the next top-level instruction.
    let logs = format!(
        "Program {} invoke [1]\nProgram log: Instruction: Settle\nProgram {} failed: custom program error: 0x1771",
        cix::PROGRAM_ID,
        cix::PROGRAM_ID
    );
    named([
        [
            record(0x80, &paused),
            record(0x80 | 0x40, &registrar),
            record(0x81, &status),
        ]
        .concat(),
        [record(0x82, &paused), record(0x01, &status)].concat(),
        [record(0x80, &paused[..8]), record(0x81, &status[..12])].concat(),
        logs.into_bytes(),
    ])
}

fn program_instructions() -> Seeds {
    let admin = Pubkey::new_from_array([21; 32]);
    let challenge_key = Pubkey::new_from_array([22; 32]);
    named([
        rix::pause(&admin).data,
        rix::set_registrar(&admin, &challenge_key).data,
        rix::propose_admin(&admin, &challenge_key).data,
        cix::set_paused(&admin, true).data,
        cix::accept(&admin, &challenge_key).data,
        cix::confirm_outcome(&admin, &challenge_key, challenge::state::Outcome::Draw).data,
        cix::lock_intent(&admin, &challenge_key).data,
    ])
}
