//! Helpers the handlers share: store reads off the async threads, page
//! sizes, cursors and the owner filter of listings.

use super::error::ApiError;
use super::state::AppState;
use crate::model::Caller;
use crate::store::{self, Store};

/// Runs a store call on the blocking pool: a mutation (it waits for its
/// batch to be applied) or a listing. Point reads need not: see the
/// store's Reads.
pub async fn blocking<T, F>(st: &AppState, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&dyn Store) -> store::Result<T> + Send + 'static,
{
    let s = st.store.clone();
    tokio::task::spawn_blocking(move || f(s.as_ref()))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::from)
}

/// `max_results`: 1..=100 (default and ceiling: `limits.max_page`).
pub fn page_size(st: &AppState, max_results: Option<i64>) -> Result<usize, ApiError> {
    let max = st.max_page();
    match max_results {
        None => Ok(max),
        Some(n) if (1..=100).contains(&n) => Ok((n as usize).min(max)),
        Some(_) => Err(ApiError::invalid(
            "max_results",
            "must be between 1 and 100",
        )),
    }
}

/// A `next_token` as sent back by the client: bounded and URL-safe; the
/// store decides whether it is one of its own.
pub fn next_token(t: Option<&str>) -> Result<Option<String>, ApiError> {
    match t {
        None => Ok(None),
        Some(t)
            if !t.is_empty()
                && t.len() <= 256
                && t.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'=') =>
        {
            Ok(Some(t.to_string()))
        }
        Some(_) => Err(ApiError::invalid(
            "next_token",
            "not a token this server issued",
        )),
    }
}

/// The owner filter for a listing: the `asn` asked for (if the caller may
/// act for it, else 403), or the caller's only ASN, or (operators) none.
pub fn owner_asn(caller: &Caller, asn: Option<u32>) -> Result<Option<u32>, ApiError> {
    match asn {
        Some(a) if caller.may_act_for(a) => Ok(Some(a)),
        Some(a) => Err(ApiError::forbidden(
            "asn",
            format!("you may not act for AS{a}"),
        )),
        None if caller.is_operator => Ok(None),
        None => match caller.asns.len() {
            0 => Err(ApiError::forbidden(
                "request",
                "your account may not act for any network (check its PeeringDB permissions)",
            )),
            1 => Ok(caller.asns.iter().next().copied()),
            _ => Err(ApiError::invalid(
                "asn",
                "required: you may act for several ASNs; say which one",
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn owners() {
        let one = Caller {
            principal: "pdb:1".into(),
            asns: BTreeSet::from([64600]),
            is_operator: false,
            read_only: false,
        };
        assert_eq!(owner_asn(&one, None).unwrap(), Some(64600));
        assert_eq!(owner_asn(&one, Some(64600)).unwrap(), Some(64600));
        assert_eq!(owner_asn(&one, Some(64601)).unwrap_err().status, 403);
        let two = Caller {
            asns: BTreeSet::from([1, 2]),
            ..one.clone()
        };
        assert_eq!(owner_asn(&two, None).unwrap_err().status, 400);
        let op = Caller {
            is_operator: true,
            asns: BTreeSet::new(),
            ..one
        };
        assert_eq!(owner_asn(&op, None).unwrap(), None);
        assert_eq!(owner_asn(&op, Some(7)).unwrap(), Some(7));
    }
}
