//! Answers about peerd tokens: the operators' list (ids, never secrets)
//! and the revoke answers.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One peerd token as operators see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TokenOut {
    pub id: String,
    /// `pdb:<PeeringDB user id>`.
    pub principal: String,
    #[schema(value_type = Vec<u64>)]
    pub asns: Vec<u32>,
    pub created_at: String,
    pub expires_at: String,
    pub revoked: bool,
    pub expired: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TokensOut {
    pub tokens: Vec<TokenOut>,
}

/// Answer of the revoke route.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RevokedOut {
    /// The token's id (first 12 hex digits of its hash).
    pub id: String,
    pub revoked: bool,
}
