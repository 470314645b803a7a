//! The sled implementation of [`Store`](super::Store) (embedded default).

/// Placeholder until the implementation lands (see the store helper's branch).
pub struct SledStore;
