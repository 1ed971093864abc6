//! Decoders for program accounts and `emit_cpi!` events.

use anchor_lang::{event::EVENT_IX_TAG_LE, AccountDeserialize, AnchorDeserialize, Discriminator};
use registry::{events::*, state::Track};

/// Why bytes could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// Fewer bytes than a discriminator.
    #[error("data is {0} bytes, shorter than an 8-byte discriminator")]
    TooShort(usize),
    /// Not an Anchor event-CPI instruction (wrong tag).
    #[error("not an event-CPI instruction")]
    NotEventCpi,
    /// A discriminator no known event or account has.
    #[error("unknown discriminator {0:02x?}")]
    UnknownDiscriminator([u8; 8]),
    /// The account's discriminator or size is not that of the requested type.
    #[error("account is not a {0}")]
    WrongAccountType(&'static str),
    /// The body did not deserialize.
    #[error("malformed body: {0}")]
    Malformed(#[from] std::io::Error),
    /// Anchor rejected the account data.
    #[error("anchor: {0}")]
    Anchor(#[from] anchor_lang::error::Error),
}

/// Declares an enum over a program's events with `decode` / `decode_event_cpi`.
macro_rules! program_events {
    ($(#[$doc:meta])* $name:ident { $($event:ident),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum $name {
            $(
                #[doc = concat!("See [`", stringify!($event), "`].")]
                $event($event),
            )+
        }

        impl $name {
            /// The name of every event, as the program declares it.
            pub const NAMES: &'static [&'static str] = &[$(stringify!($event)),+];

            /// This event's name, as the program declares it (`MerkleRootUpdated`, …).
            pub fn name(&self) -> &'static str {
                match self {
                    $(Self::$event(_) => stringify!($event),)+
                }
            }

            /// Decodes `discriminator ‖ borsh(event)`, the payload of an event CPI or a
            /// `Program data:` log line.
            pub fn decode(data: &[u8]) -> Result<Self, DecodeError> {
                let (disc, mut body) = split_discriminator(data)?;
                $(if disc == $event::DISCRIMINATOR {
                    return Ok(Self::$event($event::deserialize(&mut body)?));
                })+
                Err(DecodeError::UnknownDiscriminator(disc.try_into().unwrap_or_default()))
            }

            /// Decodes the data of an inner instruction emitted by `emit_cpi!`
            /// (`EVENT_IX_TAG_LE ‖ discriminator ‖ borsh(event)`).
            pub fn decode_event_cpi(ix_data: &[u8]) -> Result<Self, DecodeError> {
                let payload = ix_data
                    .strip_prefix(EVENT_IX_TAG_LE)
                    .ok_or(DecodeError::NotEventCpi)?;
                Self::decode(payload)
            }
        }
    };
}

program_events!(
    /// Every event the registry emits.
    RegistryEvent {
        RegistryInitialized,
        AdminProposed,
        AdminAccepted,
        RegistrarSet,
        PauseSet,
        TrackCreated,
        MerkleRootUpdated,
        IdBatchAnchored,
        OwnershipVerified,
    }
);

use challenge::events::{
    AttestationCreated, BondDeposited, BondsReleased, ChallengeAdminAccepted,
    ChallengeAdminProposed, ChallengeCreated, CounterpartySet, OutcomeConfirmed, StatusChanged,
    SurplusSwept, VerificationAttested,
};

program_events!(
    /// Every event the challenge program emits.
    ChallengeEvent {
        ChallengeCreated,
        StatusChanged,
        VerificationAttested,
        BondDeposited,
        OutcomeConfirmed,
        AttestationCreated,
        BondsReleased,
        SurplusSwept,
        ChallengeAdminProposed,
        ChallengeAdminAccepted,
        CounterpartySet,
    }
);

fn split_discriminator(data: &[u8]) -> Result<(&[u8], &[u8]), DecodeError> {
    if data.len() < 8 {
        return Err(DecodeError::TooShort(data.len()));
    }
    Ok(data.split_at(8))
}

/// Decodes a Borsh account (`Config`, `IdBatch`, …), checking its discriminator.
pub fn account<T: AccountDeserialize>(data: &[u8]) -> Result<T, DecodeError> {
    let mut slice = data;
    Ok(T::try_deserialize(&mut slice)?)
}

/// Decodes a zero-copy `Track` account, checking its discriminator and size.
pub fn track(data: &[u8]) -> Result<Track, DecodeError> {
    let (disc, body) = split_discriminator(data)?;
    if disc != Track::DISCRIMINATOR || body.len() != core::mem::size_of::<Track>() {
        return Err(DecodeError::WrongAccountType("Track"));
    }
    // The RPC buffer carries no alignment guarantee, so copy out.
    bytemuck::try_pod_read_unaligned(body).map_err(|_| DecodeError::WrongAccountType("Track"))
}

/// Declares an enum over a program's instructions (Anchor's generated `instruction::*` types)
/// with `decode`, `name` and `data`.
macro_rules! program_instructions {
    ($(#[$doc:meta])* $name:ident { $($ix:ident),+ $(,)? }) => {
        $(#[$doc])*
        // `VerifyOwnership` carries a whole proof; a decoded instruction is short-lived, so
        // its size is no concern.
        #[allow(clippy::large_enum_variant)]
        pub enum $name {
            $(
                #[doc = concat!("`", stringify!($ix), "`.")]
                $ix($ix),
            )+
        }

        impl $name {
            /// Decodes instruction data (`discriminator ‖ borsh(args)`) as the program's
            /// dispatcher reads it: bytes after the arguments are ignored.
            pub fn decode(data: &[u8]) -> Result<Self, DecodeError> {
                let (disc, mut body) = split_discriminator(data)?;
                $(if disc == <$ix as Discriminator>::DISCRIMINATOR {
                    return Ok(Self::$ix(<$ix as AnchorDeserialize>::deserialize(&mut body)?));
                })+
                Err(DecodeError::UnknownDiscriminator(disc.try_into().unwrap_or_default()))
            }

            /// The instruction's name.
            pub fn name(&self) -> &'static str {
                match self {
                    $(Self::$ix(_) => stringify!($ix),)+
                }
            }

            /// The instruction data again (`discriminator ‖ borsh(args)`).
            pub fn data(&self) -> Vec<u8> {
                use anchor_lang::InstructionData;
                match self {
                    $(Self::$ix(ix) => ix.data(),)+
                }
            }
        }
    };
}

mod registry_instructions {
    use anchor_lang::{AnchorDeserialize, Discriminator};
    use registry::instruction::*;

    use super::{split_discriminator, DecodeError};

    program_instructions!(
        /// Every instruction of the registry program, decoded from its data.
        RegistryInstruction {
            Initialize,
            ProposeAdmin,
            AcceptAdmin,
            SetRegistrar,
            Pause,
            Unpause,
            CreateTrack,
            PublishRoot,
            AnchorIdBatch,
            VerifyOwnership,
        }
    );
}

mod challenge_instructions {
    use anchor_lang::{AnchorDeserialize, Discriminator};
    use challenge::instruction::*;

    use super::{split_discriminator, DecodeError};

    program_instructions!(
        /// Every instruction of the challenge program, decoded from its data.
        ChallengeInstruction {
            Initialize,
            UpdateConfig,
            ProposeAdmin,
            AcceptAdmin,
            SetPaused,
            CreateChallenge,
            Accept,
            AttestVerification,
            DepositBond,
            LockIntent,
            ConfirmOutcome,
            Resolve,
            Settle,
            Expire,
            Cancel,
        }
    );
}

pub use challenge_instructions::ChallengeInstruction;
pub use registry_instructions::RegistryInstruction;
