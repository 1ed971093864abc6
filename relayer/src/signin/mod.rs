//! The sign-in domain: people sign in with a wallet and get a session (issue 24). The wallet
//! signs a Sign-In With Solana or EIP-4361 message that the gatekeeper issues and checks, with a
//! nonce issued for this purpose only ([`Purpose::Session`]); the platform's
//! [`SessionStore`](crate::platform::auth::SessionStore) keeps the session.
//!
//! - [`handlers`]: `/api/v2/auth/{challenge,session,refresh}`, without an API key, under the
//!   limit per client address.

pub mod handlers;

use std::sync::Arc;

use crate::{
    gatekeeper::{GatekeeperError, GatekeeperService, Issued, Purpose},
    platform::auth::{AuthError, AuthService, IssuedSession},
};

/// Why a sign-in step was refused.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// The gatekeeper refused the message or signature (each rule has its code).
    #[error(transparent)]
    Gatekeeper(#[from] GatekeeperError),
    /// The session or refresh token is not usable.
    #[error(transparent)]
    Auth(#[from] AuthError),
}

impl From<SignInError> for crate::platform::error::ApiError {
    fn from(e: SignInError) -> Self {
        match e {
            SignInError::Gatekeeper(e) => e.into(),
            SignInError::Auth(e) => e.into(),
        }
    }
}

/// Sign-in, transport-free.
pub struct SignInService {
    gatekeeper: Arc<GatekeeperService>,
    auth: Arc<AuthService>,
}

impl SignInService {
    /// Over the gatekeeper's verifier and the platform's sessions.
    pub fn new(gatekeeper: Arc<GatekeeperService>, auth: Arc<AuthService>) -> Self {
        Self { gatekeeper, auth }
    }

    /// The message `address` on `chain_id` signs to sign in.
    pub async fn challenge(&self, chain_id: &str, address: &str) -> Result<Issued, SignInError> {
        Ok(self
            .gatekeeper
            .challenge_for(Purpose::Session, chain_id, address, None)
            .await?)
    }

    /// Checks the signed message (its nonce is then used) and starts a session.
    pub async fn sign_in(
        &self,
        message: &str,
        signature: &str,
    ) -> Result<IssuedSession, SignInError> {
        let verified = self
            .gatekeeper
            .verify_for(Purpose::Session, message, signature, None)
            .await?;
        Ok(self
            .auth
            .sessions()
            .issue(&verified.chain_id, &verified.address, verified.id)
            .await?)
    }

    /// New tokens for a refresh token (which then stops working).
    pub async fn refresh(&self, refresh_token: &str) -> Result<IssuedSession, SignInError> {
        Ok(self.auth.sessions().refresh(refresh_token).await?)
    }

    /// Ends the session of `token`.
    pub async fn sign_out(&self, token: &str) -> Result<(), SignInError> {
        Ok(self.auth.sessions().revoke(token).await?)
    }
}
